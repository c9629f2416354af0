/// A value that must never appear in any file or output the tests look at.
let canaryValue = "sk-canary-state-value"
