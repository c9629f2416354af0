#if canImport(CSHA256)
    import CSHA256
#endif

/// HMAC-SHA256 (RFC 2104, FIPS 180-4) prepared once for one key, then run over many short
/// messages without allocating: the hot path of fingerprinting every secret of a plan.
///
/// swift-crypto's `HMAC<SHA256>` stays the reference everywhere else; it costs about 11,000
/// instructions of copy-on-write contexts and generic calls per short message, this about a
/// third of that. Blocks are compressed with the CPU's SHA instructions where it has them
/// (`CSHA256`), in Swift otherwise. `HMACTests` checks both against RFC 4231's vectors and
/// against swift-crypto on random keys and messages of every length around the block edges.
struct HMACSHA256: Redacted {
    /// The chaining values after the key's inner (`key ⊕ 0x36…`) and outer (`key ⊕ 0x5c…`) blocks.
    private let inner: SHA256Stream
    private let outer: SHA256Stream

    /// - Parameter hardware: whether to use the CPU's SHA instructions (tests choose both ways).
    init(key: [UInt8], hardware: Bool = SHA256Stream.hasHardware) {
        var block = [UInt8](repeating: 0, count: SHA256Stream.blockSize)
        if key.count > SHA256Stream.blockSize {
            var hashed = SHA256Stream(hardware: hardware)
            hashed.absorb(key)
            hashed.finish { digest in
                for index in 0..<SHA256Stream.digestSize { block[index] = digest[index] }
            }
        } else {
            block.replaceSubrange(0..<key.count, with: key)
        }
        var inner = SHA256Stream(hardware: hardware), outer = SHA256Stream(hardware: hardware)
        inner.absorb(block.map { $0 ^ 0x36 })
        outer.absorb(block.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    /// A fresh computation under this key; feed it with `absorb`, then `finish`.
    func start() -> SHA256Stream { inner }

    /// The authentication code of what `message` absorbed, given to `body` as 32 bytes.
    func finish<Result>(_ message: consuming SHA256Stream, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var outer = self.outer
        message.finish { digest in outer.absorb(digest) }
        return outer.finish(body)
    }
}

/// SHA-256 over bytes given piece by piece, its state held inline (no heap). After an HMAC's
/// key block it is half the prepared key, so it prints as `<redacted>`.
struct SHA256Stream: Redacted, TextOutputStream {
    static let blockSize = 64
    static let digestSize = 32

    /// Whether this CPU has the SHA extensions (x86-64), asked once.
    static let hasHardware: Bool = {
        #if canImport(CSHA256)
            stripe_secrets_sha256_hardware() != 0
        #else
            false
        #endif
    }()

    /// Whether blocks go to the CPU's SHA instructions; only true where `hasHardware` is.
    private let hardware: Bool

    init(hardware: Bool = Self.hasHardware) {
        self.hardware = hardware && Self.hasHardware
    }

    private var hash = ChainingValue(
        a: 0x6a09_e667, b: 0xbb67_ae85, c: 0x3c6e_f372, d: 0xa54f_f53a, e: 0x510e_527f, f: 0x9b05_688c,
        g: 0x1f83_d9ab, h: 0x5be0_cd19)

    /// The eight working words, as scalars: kept in a SIMD vector, the compiler shuffles them
    /// through vector registers every round, at twice the instructions.
    private struct ChainingValue {
        var a, b, c, d, e, f, g, h: UInt32
    }
    /// Bytes waiting for a full block (the first `pendingCount`), inline: 64 bytes.
    private var pending: SIMD64<UInt8> = .zero
    private var pendingCount = 0
    private var totalCount: UInt64 = 0

    mutating func absorb(_ bytes: some Sequence<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ absorb(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        absorb(Array(bytes))
    }

    /// Absorbs `text`'s UTF-8 bytes (so an address can write itself in, as it prints).
    mutating func write(_ text: String) { absorb(text) }

    mutating func absorb(_ text: String) {
        var text = text
        text.withUTF8 { absorb(UnsafeRawBufferPointer($0)) }
    }

    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        totalCount &+= UInt64(bytes.count)
        var offset = 0
        if pendingCount > 0 {
            offset = min(Self.blockSize - pendingCount, bytes.count)
            appendPending(base, offset)
            guard pendingCount == Self.blockSize else { return }
            compressPending()
        }
        let blocks = (bytes.count - offset) / Self.blockSize
        if blocks > 0 {
            compress(UnsafeRawBufferPointer(start: base + offset, count: blocks * Self.blockSize))
            offset += blocks * Self.blockSize
        }
        appendPending(base + offset, bytes.count - offset)
    }

    /// Pads, and gives the 32-byte digest to `body`.
    consuming func finish<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let bits = totalCount &* 8, count = pendingCount
        withUnsafeMutableBytes(of: &pending) { block in
            block[count] = 0x80
            for index in count + 1..<Self.blockSize { block[index] = 0 }
        }
        if count + 1 > Self.blockSize - 8 {
            compressPending()
            pending = .zero
        }
        withUnsafeMutableBytes(of: &pending) { block in
            block.storeBytes(of: bits.bigEndian, toByteOffset: Self.blockSize - 8, as: UInt64.self)
        }
        compressPending()
        let words = [hash.a, hash.b, hash.c, hash.d, hash.e, hash.f, hash.g, hash.h]
        return withUnsafeTemporaryAllocation(byteCount: Self.digestSize, alignment: 4) { digest in
            for (index, word) in words.enumerated() {
                digest.storeBytes(of: word.bigEndian, toByteOffset: 4 * index, as: UInt32.self)
            }
            return body(UnsafeRawBufferPointer(digest))
        }
    }

    private mutating func appendPending(_ bytes: UnsafeRawPointer, _ count: Int) {
        let start = pendingCount
        withUnsafeMutableBytes(of: &pending) { block in
            UnsafeMutableRawBufferPointer(rebasing: block[start..<start + count]).copyMemory(
                from: UnsafeRawBufferPointer(start: bytes, count: count))
        }
        pendingCount += count
    }

    private mutating func compressPending() {
        let block = pending
        withUnsafeBytes(of: block) { compress($0) }
        pendingCount = 0
    }

    /// Whole blocks, with the CPU's instructions or in Swift.
    private mutating func compress(_ blocks: UnsafeRawBufferPointer) {
        #if canImport(CSHA256)
            if hardware, let base = blocks.baseAddress {
                var words = (hash.a, hash.b, hash.c, hash.d, hash.e, hash.f, hash.g, hash.h)
                withUnsafeMutableBytes(of: &words) { state in
                    stripe_secrets_sha256_blocks(
                        state.bindMemory(to: UInt32.self).baseAddress, base.assumingMemoryBound(to: UInt8.self),
                        blocks.count / Self.blockSize)
                }
                hash = ChainingValue(
                    a: words.0, b: words.1, c: words.2, d: words.3, e: words.4, f: words.5, g: words.6, h: words.7)
                return
            }
        #endif
        for start in stride(from: 0, to: blocks.count, by: Self.blockSize) {
            Self.compress(&hash, UnsafeRawBufferPointer(rebasing: blocks[start..<start + Self.blockSize]))
        }
    }

    /// One block of FIPS 180-4 §6.2.2.
    private static func compress(_ hash: inout ChainingValue, _ block: UnsafeRawBufferPointer) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for index in 0..<16 {
                w[index] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
            }
            for index in 16..<64 {
                let a = w[index - 15], b = w[index - 2]
                let s0 = a.rotatedRight(7) ^ a.rotatedRight(18) ^ (a &>> 3)
                let s1 = b.rotatedRight(17) ^ b.rotatedRight(19) ^ (b &>> 10)
                w[index] = w[index - 16] &+ s0 &+ w[index - 7] &+ s1
            }
            var a = hash.a, b = hash.b, c = hash.c, d = hash.d
            var e = hash.e, f = hash.f, g = hash.g, h = hash.h
            // Eight rounds per pass, each naming the words in their rotated places, so that no
            // round moves all eight words down by one.
            roundConstants.withUnsafeBufferPointer { k in
                for index in stride(from: 0, to: 64, by: 8) {
                    round(a, b, c, &d, e, f, g, &h, k[index] &+ w[index])
                    round(h, a, b, &c, d, e, f, &g, k[index + 1] &+ w[index + 1])
                    round(g, h, a, &b, c, d, e, &f, k[index + 2] &+ w[index + 2])
                    round(f, g, h, &a, b, c, d, &e, k[index + 3] &+ w[index + 3])
                    round(e, f, g, &h, a, b, c, &d, k[index + 4] &+ w[index + 4])
                    round(d, e, f, &g, h, a, b, &c, k[index + 5] &+ w[index + 5])
                    round(c, d, e, &f, g, h, a, &b, k[index + 6] &+ w[index + 6])
                    round(b, c, d, &e, f, g, h, &a, k[index + 7] &+ w[index + 7])
                }
            }
            hash.a &+= a
            hash.b &+= b
            hash.c &+= c
            hash.d &+= d
            hash.e &+= e
            hash.f &+= f
            hash.g &+= g
            hash.h &+= h
        }
    }

    /// One round: `h` becomes the new `a`, and `d` the new `e`.
    @inline(__always)
    private static func round(
        _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32, _ e: UInt32, _ f: UInt32, _ g: UInt32,
        _ h: inout UInt32, _ constantAndWord: UInt32
    ) {
        let s1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
        let choice = g ^ (e & (f ^ g))
        let t1 = h &+ s1 &+ choice &+ constantAndWord
        let s0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
        let majority = (a & b) | (c & (a | b))
        d &+= t1
        h = t1 &+ s0 &+ majority
    }

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
}

extension UInt32 {
    @inline(__always) fileprivate func rotatedRight(_ count: UInt32) -> UInt32 {
        (self &>> count) | (self &<< (32 &- count))
    }
}
