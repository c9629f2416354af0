import StripeSecretsCLI

await StripeSecrets.start()
