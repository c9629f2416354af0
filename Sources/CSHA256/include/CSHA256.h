#ifndef STRIPE_SECRETS_CSHA256_H
#define STRIPE_SECRETS_CSHA256_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the SHA extensions (x86-64 only); nonzero when
/// `stripe_secrets_sha256_blocks` may be called.
int stripe_secrets_sha256_hardware(void);

/// SHA-256's compression (FIPS 180-4 §6.2.2) of `blocks` 64-byte blocks at `data` into the
/// eight chaining words `state` (a first), with the CPU's SHA instructions.
void stripe_secrets_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
