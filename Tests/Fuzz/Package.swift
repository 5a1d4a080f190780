// swift-tools-version:6.0
// libFuzzer targets for Margin's decoders. Built apart from the main package
// (every module is compiled with -sanitize=fuzzer), by Tests/Fuzz/run.sh.
import PackageDescription

let package = Package(
    name: "MarginFuzz",
    dependencies: [.package(name: "Margin", path: "../..")],
    targets: [
        .executableTarget(name: "FuzzFrames", dependencies: [.product(name: "MarginSync", package: "Margin")]),
        .executableTarget(name: "FuzzMessages", dependencies: [.product(name: "MarginSync", package: "Margin"),
                                                               .product(name: "MarginCore", package: "Margin")]),
        .executableTarget(name: "FuzzImporter", dependencies: [.product(name: "MarginCore", package: "Margin")]),
    ],
    swiftLanguageModes: [.v6]
)
