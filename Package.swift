// swift-tools-version:6.0
import PackageDescription

// The two programs link the C++ runtime statically, as `-static-libstdc++`
// would. The Swift runtime is written in C++, and loading the shared
// libstdc++ and binding its 1,700 symbols cost each `margin` process about
// 0.8 ms of the 3.8 it took to start (README, Performance). The toolchain's
// own link arguments ask for `-lstdc++` by name, so Sources/margin/Link holds
// a linker script called libstdc++.so, found first on the search path, that
// names the archive instead. LLVM's linker takes archives in any order (the
// default one needs the archive after the Swift libraries that use it). The
// programs stay dynamically linked and position-independent (address
// randomisation), and SQLite stays the system's shared library.
//
// Their 77,000 relative relocations are packed (`-z pack-relative-relocs`,
// DT_RELR, read by glibc 2.36 and later): the loader reads a 15 KB bitmap
// instead of a 1.8 MB table, and `margin show` starts about 0.6 ms sooner
// (README, Performance: "Packed relative relocations").
let staticCxxRuntime: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-L", Context.packageDirectory + "/Sources/margin/Link",
                  "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]),
]

// SHA-256 on the x86 SHA extensions (Sources/SHAExtensions): the
// intrinsics need their target features, which Swift takes for a whole
// module, so they get a module of their own; the code in it runs only where
// CPUID finds them. Optimised in debug builds too, as MarginCrypto is.
// Other processors build the module empty.
#if arch(x86_64)
let shaExtensionFlags = ["-O", "-Xcc", "-msha", "-Xcc", "-mssse3", "-Xcc", "-msse4.1"]
#else
let shaExtensionFlags = ["-O"]
#endif

let package = Package(
    name: "Margin",
    products: [
        .executable(name: "margin", targets: ["margin"]),
        .executable(name: "margin-bench", targets: ["margin-bench"]),
        // For the fuzz targets in Tests/Fuzz, which build apart.
        .library(name: "MarginCore", targets: ["MarginCore"]),
        .library(name: "MarginSync", targets: ["MarginSync"]),
    ],
    targets: [
        // The system SQLite, reached only through MarginSQLite.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "MarginSQLite", dependencies: ["CSQLite"]),
        // Optimised in debug builds too: field arithmetic at -Onone is about
        // fifty times slower, and every sync session in the tests does a Noise
        // handshake and checks Ed25519 signatures (80% of a group sync's time
        // was FieldElement.multiplied before this). Release builds are -O anyway.
        .target(name: "SHAExtensions", swiftSettings: [.unsafeFlags(shaExtensionFlags)]),
        .target(name: "MarginCrypto", dependencies: ["SHAExtensions"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "MarginCore", dependencies: ["MarginSQLite", "MarginCrypto"]),
        .target(name: "MarginSync", dependencies: ["MarginCore", "MarginCrypto"]),
        .target(name: "MarginUI", dependencies: ["MarginCore", "MarginSync"]),
        .target(name: "MarginCLI", dependencies: ["MarginCore", "MarginSync", "MarginUI"]),
        .executableTarget(name: "margin", dependencies: ["MarginCLI"], exclude: ["Link"], linkerSettings: staticCxxRuntime),
        .executableTarget(name: "margin-bench", dependencies: ["MarginCore", "MarginSync", "MarginSQLite", "MarginCrypto", "MarginCLI", "MarginUI", "MarginTestSupport"], linkerSettings: staticCxxRuntime),
        // Seeded generators, generated stores and signed chains shared by
        // the test targets and margin-bench.
        .target(name: "MarginTestSupport", dependencies: ["MarginCore", "MarginCrypto"], path: "Tests/MarginTestSupport"),
        .testTarget(name: "MarginSQLiteTests", dependencies: ["MarginSQLite"]),
        .testTarget(name: "MarginCryptoTests", dependencies: ["MarginCrypto"]),
        .testTarget(name: "MarginCoreTests", dependencies: ["MarginCore", "MarginCrypto", "MarginTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "MarginSyncTests", dependencies: ["MarginSync", "MarginCore", "MarginCrypto", "MarginTestSupport"]),
        .testTarget(name: "MarginCLITests", dependencies: ["MarginCLI", "MarginCore", "MarginSync", "MarginTestSupport"]),
        .testTarget(name: "MarginUITests", dependencies: ["MarginUI", "MarginCore", "MarginSync", "MarginTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
