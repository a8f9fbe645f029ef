// swift-tools-version: 6.0
// llmsim — a discrete-event simulator and cost model of large-scale LLM training.
// Targets are layered as ../shared/DESIGN.md describes; dependencies point down only.
import PackageDescription

/// `-O` for the debug configuration of the hot targets (release builds are optimised anyway).
let optimisedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "llmsim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "llmsim", targets: ["llmsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // C libraries, one system-library target each; each is imported by exactly one Swift target.
        .systemLibrary(name: "CGSL", path: "Sources/CGSL", pkgConfig: "gsl",
                       providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),

        // Bottom layer: engine and numerics, no knowledge of GPUs.
        // The event loop touches a handful of class properties per event; Swift's dynamic
        // exclusivity checks on them cost more than the heap itself (measured with `llmsim bench`:
        // 3.7M vs 10M+ events/s). The engine is single-threaded by design, so they are off here only.
        .target(name: "SimCore", swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        .target(name: "Stochastic", dependencies: ["CGSL", "SimCore"]),
        .target(name: "ResultsDB", dependencies: ["CSQLite"]),
        .target(name: "ConfigIO", dependencies: [.product(name: "Yams", package: "Yams")]),

        // Descriptions of hardware and models.
        .target(name: "Hardware", dependencies: ["ConfigIO"],
                resources: [.copy("Resources/catalog.yaml")]),
        // The hot loops (routing every token through the gate, the fluid network, the schedule
        // engine) are optimised even in debug builds, so the test suite stays fast on 2 cores.
        .target(name: "Kernels", dependencies: ["SimCore", "Stochastic", "Hardware"], swiftSettings: optimisedInDebug),
        .target(name: "Model", dependencies: ["ConfigIO", "Kernels"]),
        .target(name: "Schedules", dependencies: ["SimCore"], swiftSettings: optimisedInDebug),
        .target(name: "Fabric", dependencies: ["SimCore", "Hardware", "Kernels"], swiftSettings: optimisedInDebug),
        .target(name: "Training", dependencies: ["SimCore", "Stochastic", "Model", "Kernels", "CostModel", "Fabric", "Schedules", "Hardware", "ConfigIO"]),
        .target(name: "CostModel", dependencies: ["Kernels", "Hardware", "ConfigIO"],
                resources: [.copy("Resources/hopper-kernels.yaml")]),

        // Experiment files, sweeps, the results database, plots and notebooks.
        .target(name: "Experiments", dependencies: ["SimCore", "Training", "ResultsDB", "ConfigIO", "Hardware", "Model", "CostModel",
                                                    .product(name: "Yams", package: "Yams")]),

        // The command-line interface: a thin layer over the libraries.
        .target(name: "LLMSimCLI", dependencies: [
            "SimCore", "Stochastic", "Hardware", "Kernels", "Model", "Schedules", "CostModel", "Fabric", "Training", "ConfigIO", "Experiments", "ResultsDB",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            // swift-collections' Heap: the baseline `llmsim bench` compares the event queue with.
            .product(name: "HeapModule", package: "swift-collections"),
        ]),
        .executableTarget(name: "llmsim", dependencies: ["LLMSimCLI"]),

        // Tests.
        .testTarget(name: "SimCoreTests", dependencies: [
            "SimCore", .product(name: "HeapModule", package: "swift-collections"),
        ]),
        .testTarget(name: "StochasticTests", dependencies: ["Stochastic"]),
        .testTarget(name: "ResultsDBTests", dependencies: ["ResultsDB"]),
        .testTarget(name: "HardwareTests", dependencies: ["Hardware", "ConfigIO"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "ConfigIO", "Kernels"]),
        .testTarget(name: "SchedulesTests", dependencies: ["Schedules"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Model", "Hardware", "Schedules"]),
        .testTarget(name: "FabricTests", dependencies: ["Fabric", "Kernels", "Hardware"]),
        .testTarget(name: "CostModelTests", dependencies: ["CostModel", "Model", "Kernels", "Hardware"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Stochastic", "SimCore"]),
        .testTarget(name: "CLITests", dependencies: ["LLMSimCLI"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "ConfigIO", "Training", "ResultsDB", "Hardware"]),
    ]
)
