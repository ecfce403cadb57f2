// swift-tools-version:6.1
// The libFuzzer driver for Parley's parsers (`make fuzz`). A package of its own so the
// daemon's build never carries -sanitize=fuzzer; scripts/fuzz.sh builds it with
// `-sanitize=fuzzer,address`. The targets live in ParleyFuzzing.
import PackageDescription

let package = Package(
    name: "ParleyFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Parley", path: "..")],
    targets: [
        .target(name: "CFuzzer", path: "Sources/CFuzzer"),
        .executableTarget(
            name: "ParleyFuzz",
            dependencies: ["CFuzzer", .product(name: "ParleyFuzzing", package: "Parley")],
            path: "Sources/ParleyFuzz"
        ),
    ]
)
