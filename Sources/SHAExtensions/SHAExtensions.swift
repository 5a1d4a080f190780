#if arch(x86_64)
import _Builtin_intrinsics.intel
import _Builtin_intrinsics.intel.cpuid

/// SHA-256's block function on the x86 SHA extensions (SHA-NI), for
/// `MarginCrypto.SHA256` when the processor has them.
///
/// Why a module of its own: the intrinsics need the `sha` and `sse4.1`
/// target features, which a Swift module can only take as a whole
/// (`-Xcc -msha -Xcc -msse4.1` in Package.swift). Kept here, those
/// instructions appear in this function alone, and nothing calls it on a
/// processor that lacks them (`available`, from CPUID). Every change a
/// store logs, receives or checks is hashed; the portable Swift function
/// does 373 MB/s on this project's machine, this one about 1.5 GB/s.
/// The instructions take constant time, so HMAC and the Noise handshakes
/// may use it too.
public enum SHAExtensions {
    /// Whether this processor has the SHA extensions and SSSE3 and SSE4.1
    /// (CPUID leaf 7 EBX bit 29; leaf 1 ECX bits 9 and 19).
    public static let available: Bool = {
        var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0, d: UInt32 = 0
        guard __get_cpuid_count(7, 0, &a, &b, &c, &d) != 0 else { return false }
        let sha = b & (1 << 29) != 0
        guard __get_cpuid(1, &a, &b, &c, &d) != 0 else { return false }
        return sha && c & (1 << 9) != 0 && c & (1 << 19) != 0
    }()

    /// Runs the block function over `count` 64-byte blocks at `blocks`,
    /// on `state`, SHA-256's eight working words a to h in order.
    /// Only when `available`; never inlined into a caller built without the
    /// target features.
    @inline(never)
    public static func compress(state: UnsafeMutableRawPointer, blocks: UnsafeRawPointer, count: Int) {
        // The instructions keep the state as ABEF and CDGH (Intel's SHA
        // extensions guide); it is rearranged on the way in and out.
        let dcba = words(_mm_loadu_si128(state.assumingMemoryBound(to: __m128i.self)))
        let hgfe = words(_mm_loadu_si128((state + 16).assumingMemoryBound(to: __m128i.self)))
        var abef = vector(Words(hgfe[1], hgfe[0], dcba[1], dcba[0]))
        var cdgh = vector(Words(hgfe[3], hgfe[2], dcba[3], dcba[2]))
        let k = roundConstants, swap = byteSwap
        for block in 0..<count {
            let p = blocks + block * 64
            let savedABEF = abef, savedCDGH = cdgh
            var m0 = bigEndianWords(p, swap), m1 = bigEndianWords(p + 16, swap), m2 = bigEndianWords(p + 32, swap), m3 = bigEndianWords(p + 48, swap)
            // Four rounds: two of `sha256rnds2`, each taking two words of
            // schedule plus constants.
            func rounds(_ w: __m128i, _ k: __m128i) {
                let wk = _mm_add_epi32(w, k)
                cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk)
                abef = _mm_sha256rnds2_epu32(abef, cdgh, highHalf(wk))
            }
            // The next four words of the schedule, into `next` (which held
            // the words sixteen before, with `sha256msg1` applied).
            func schedule(_ next: inout __m128i, _ previous: __m128i, _ current: __m128i) {
                next = _mm_sha256msg2_epu32(_mm_add_epi32(next, alignedByOneWord(current, previous)), current)
            }
            rounds(m0, k.0)
            rounds(m1, k.1); m0 = _mm_sha256msg1_epu32(m0, m1)
            rounds(m2, k.2); m1 = _mm_sha256msg1_epu32(m1, m2)
            rounds(m3, k.3); schedule(&m0, m2, m3); m2 = _mm_sha256msg1_epu32(m2, m3)
            rounds(m0, k.4); schedule(&m1, m3, m0); m3 = _mm_sha256msg1_epu32(m3, m0)
            rounds(m1, k.5); schedule(&m2, m0, m1); m0 = _mm_sha256msg1_epu32(m0, m1)
            rounds(m2, k.6); schedule(&m3, m1, m2); m1 = _mm_sha256msg1_epu32(m1, m2)
            rounds(m3, k.7); schedule(&m0, m2, m3); m2 = _mm_sha256msg1_epu32(m2, m3)
            rounds(m0, k.8); schedule(&m1, m3, m0); m3 = _mm_sha256msg1_epu32(m3, m0)
            rounds(m1, k.9); schedule(&m2, m0, m1); m0 = _mm_sha256msg1_epu32(m0, m1)
            rounds(m2, k.10); schedule(&m3, m1, m2); m1 = _mm_sha256msg1_epu32(m1, m2)
            rounds(m3, k.11); schedule(&m0, m2, m3); m2 = _mm_sha256msg1_epu32(m2, m3)
            rounds(m0, k.12); schedule(&m1, m3, m0); m3 = _mm_sha256msg1_epu32(m3, m0)
            rounds(m1, k.13); schedule(&m2, m0, m1)
            rounds(m2, k.14); schedule(&m3, m1, m2)
            rounds(m3, k.15)
            abef = _mm_add_epi32(abef, savedABEF)
            cdgh = _mm_add_epi32(cdgh, savedCDGH)
        }
        let x = words(abef), y = words(cdgh)
        _mm_storeu_si128(state.assumingMemoryBound(to: __m128i.self), vector(Words(x[3], x[2], y[3], y[2])))
        _mm_storeu_si128((state + 16).assumingMemoryBound(to: __m128i.self), vector(Words(x[1], x[0], y[1], y[0])))
    }

    private typealias Words = SIMD4<UInt32>
    @inline(__always) private static func words(_ v: __m128i) -> Words { unsafeBitCast(v, to: Words.self) }
    @inline(__always) private static func vector(_ w: Words) -> __m128i { unsafeBitCast(w, to: __m128i.self) }
    /// Words 2 and 3 moved down to 0 and 1, for the second `sha256rnds2`.
    @inline(__always) private static func highHalf(_ v: __m128i) -> __m128i { let w = words(v); return vector(Words(w[2], w[3], w[0], w[0])) }
    /// `palignr` by four bytes: words 1–3 of `low`, then word 0 of `high`.
    @inline(__always) private static func alignedByOneWord(_ high: __m128i, _ low: __m128i) -> __m128i {
        let h = words(high), l = words(low)
        return vector(Words(l[1], l[2], l[3], h[0]))
    }
    @inline(__always) private static func bigEndianWords(_ p: UnsafeRawPointer, _ swap: __m128i) -> __m128i {
        _mm_shuffle_epi8(_mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self)), swap)
    }
    private static let byteSwap = constant(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203)
    @inline(__always) private static func constant(_ high: UInt64, _ low: UInt64) -> __m128i {
        _mm_set_epi64x(Int64(bitPattern: high), Int64(bitPattern: low))
    }
    /// The round constants (FIPS 180-4 §4.2.2), four a vector, read into
    /// locals once a call.
    private static let roundConstants = (
        constant(0xe9b5_dba5_b5c0_fbcf, 0x7137_4491_428a_2f98),
        constant(0xab1c_5ed5_923f_82a4, 0x59f1_11f1_3956_c25b),
        constant(0x550c_7dc3_2431_85be, 0x1283_5b01_d807_aa98),
        constant(0xc19b_f174_9bdc_06a7, 0x80de_b1fe_72be_5d74),
        constant(0x240c_a1cc_0fc1_9dc6, 0xefbe_4786_e49b_69c1),
        constant(0x76f9_88da_5cb0_a9dc, 0x4a74_84aa_2de9_2c6f),
        constant(0xbf59_7fc7_b003_27c8, 0xa831_c66d_983e_5152),
        constant(0x1429_2967_06ca_6351, 0xd5a7_9147_c6e0_0bf3),
        constant(0x5338_0d13_4d2c_6dfc, 0x2e1b_2138_27b7_0a85),
        constant(0x9272_2c85_81c2_c92e, 0x766a_0abb_650a_7354),
        constant(0xc76c_51a3_c24b_8b70, 0xa81a_664b_a2bf_e8a1),
        constant(0x106a_a070_f40e_3585, 0xd699_0624_d192_e819),
        constant(0x34b0_bcb5_2748_774c, 0x1e37_6c08_19a4_c116),
        constant(0x682e_6ff3_5b9c_ca4f, 0x4ed8_aa4a_391c_0cb3),
        constant(0x8cc7_0208_84c8_7814, 0x78a5_636f_748f_82ee),
        constant(0xc671_78f2_bef9_a3f7, 0xa450_6ceb_90be_fffa))
}
#endif
