// swift-tools-version:6.0
import PackageDescription

// The two programs are linked as static executables, with LLVM's linker:
// no dynamic loader, no shared library to map and relocate at each start.
// A command such as `margin show` was 5 ms of process, of which the loader
// and the relocations of libstdc++, SQLite and glibc were about 1.5 ms
// (README, Performance). glibc still loads its name-service modules
// (user and host names) at run time, so build on the machine, or the
// glibc version, that runs the binary. LLVM's linker, unlike gold, does
// not print glibc's warnings about that.
// Foundation's private libraries are named here because a build without
// `--static-swift-stdlib` compiles the modules for dynamic linking, which
// leaves them out of what the objects ask the linker for.
let staticExecutable: [LinkerSetting] = [.unsafeFlags(["-static-executable", "-use-ld=lld"])]
    + ["CoreFoundation", "_FoundationCShims", "_FoundationCollections", "_FoundationICU"].map { .linkedLibrary($0) }

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
        .target(name: "MarginCrypto", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "MarginCore", dependencies: ["MarginSQLite", "MarginCrypto"]),
        .target(name: "MarginSync", dependencies: ["MarginCore", "MarginCrypto"]),
        .target(name: "MarginUI", dependencies: ["MarginCore", "MarginSync"]),
        .target(name: "MarginCLI", dependencies: ["MarginCore", "MarginSync", "MarginUI"]),
        .executableTarget(name: "margin", dependencies: ["MarginCLI"], linkerSettings: staticExecutable),
        .executableTarget(name: "margin-bench", dependencies: ["MarginCore", "MarginSync", "MarginSQLite", "MarginCrypto", "MarginCLI", "MarginUI", "MarginTestSupport"],
                         linkerSettings: staticExecutable),
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
