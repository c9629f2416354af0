#include "CProcessGuard.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

// In C because prctl is variadic, which Swift cannot call, and because the descriptors must
// be filled by a constructor, before the Swift runtime opens anything.
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

static int stdout_was_closed = 0;

// Before main, before the Swift runtime opens anything: a descriptor 0, 1 or 2 that the parent
// closed would be taken by the next file opened (an eventfd, a state file or its lock), and
// what is meant for stdout written into it.
__attribute__((constructor)) static void stripe_secrets_fill_standard_descriptors(void) {
    for (int descriptor = 0; descriptor <= 2; descriptor++) {
        if (fcntl(descriptor, F_GETFD) != -1 || errno != EBADF) continue;
        int null = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY);
        if (null >= 0 && null != descriptor) {
            dup2(null, descriptor);
            close(null);
        }
        if (descriptor == 1) stdout_was_closed = 1;
    }
}

int stripe_secrets_stdout_was_closed(void) {
    return stdout_was_closed;
}
