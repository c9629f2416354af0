#ifndef STRIPE_SECRETS_CPROCESSGUARD_H
#define STRIPE_SECRETS_CPROCESSGUARD_H

/// Keeps this process's memory (plaintext values, the API key) from being written out: no core
/// file (RLIMIT_CORE 0) and, on Linux, not dumpable (PR_SET_DUMPABLE 0: no core through a
/// core_pattern pipe either, and no ptrace attach by other processes of the same user).
/// Returns 0, or -1 when a step failed (errno says why); the process runs on either way.
int stripe_secrets_refuse_core_dumps(void);

/// Whether the process may be dumped: 1 or 2 as PR_GET_DUMPABLE says, 0 when not; -1 where
/// the flag does not exist (not Linux).
int stripe_secrets_dumpable(void);

/// Whether stdout was closed when the process started. A closed 0, 1 or 2 is opened on
/// /dev/null before main (so no file opened later takes its number); stdout's output is then
/// lost, and the run must say so.
int stripe_secrets_stdout_was_closed(void);

#endif
