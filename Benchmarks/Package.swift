// swift-tools-version:6.1
// Benchmarks for Parley's hot paths, run by `make bench`. A package of its own so the
// daemon's build and tests do not carry package-benchmark.
import PackageDescription

let package = Package(
    name: "ParleyBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Parley", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Input shared by the Swift benchmarks, generated as Benchmarks/c/chain.c does.
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "ParleyAudio", package: "Parley"),
                .product(name: "ParleyConfig", package: "Parley"),
            ],
            path: "Benchmarks/BenchSupport"
        ),
        .executableTarget(
            name: "CaptureChain",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "BenchSupport",
                .product(name: "ParleyAudio", package: "Parley"),
                .product(name: "ParleyConfig", package: "Parley"),
            ],
            path: "Benchmarks/CaptureChain",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // CPU time of the same chain measured the way Benchmarks/c/chain.c measures it.
        .executableTarget(
            name: "CaptureChainCPU",
            dependencies: [
                "BenchSupport",
                .product(name: "ParleyAudio", package: "Parley"),
                .product(name: "ParleyConfig", package: "Parley"),
            ],
            path: "Benchmarks/CaptureChainCPU"
        ),
    ]
)
