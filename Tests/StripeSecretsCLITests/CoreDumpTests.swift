import CProcessGuard
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A process holding plaintext values writes no core file and cannot be dumped.
@Suite struct CoreDumpTests {
    @Test func afterTheGuardNoCoreIsWrittenAndTheProcessIsNotDumpable() throws {
        #expect(stripe_secrets_refuse_core_dumps() == 0)
        var limit = rlimit()
        #if canImport(Glibc)
            #expect(getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0)
            #expect(stripe_secrets_dumpable() == 0)
        #else
            #expect(getrlimit(RLIMIT_CORE, &limit) == 0)
        #endif
        #expect(limit.rlim_cur == 0 && limit.rlim_max == 0)
    }
}
