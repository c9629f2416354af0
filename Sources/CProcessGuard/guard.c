#include "CProcessGuard.h"

#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

// prctl is variadic, which Swift cannot call: hence this file.
int stripe_secrets_refuse_core_dumps(void) {
    struct rlimit none = {0, 0};
    int result = setrlimit(RLIMIT_CORE, &none);
#ifdef __linux__
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) result = -1;
#endif
    return result;
}

int stripe_secrets_dumpable(void) {
#ifdef __linux__
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
#else
    return -1;
#endif
}
