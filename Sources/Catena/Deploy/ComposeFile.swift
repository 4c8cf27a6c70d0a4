import Foundation

/// The parts of a `docker-compose.yml` that say how to run each service: image, command, environment,
/// dependencies, health check. Read with the project's libyaml parser (anchors and aliases are refused,
/// which the generated file never uses). Used to run a compose file's services as local processes.
public struct ComposeFile: Sendable {
    public struct Service: Sendable, Equatable {
        public var name: String
        public var image: String?
        public var command: [String]
        /// Environment in the order written.
        public var environment: [(key: String, value: String)]
        /// Services this one waits for, with the condition (`service_started` when only names are listed).
        public var dependsOn: [(service: String, condition: String)]
        /// The health check's `test` (e.g. `["CMD", "catena", "health", ...]`), if any.
        public var healthcheck: [String]?
        public var profiles: [String]
        public var restart: String?
        public var stopGracePeriod: String?
        public var tmpfs: [String]
        public var ports: [String]
        public var containerName: String?

        public static func == (a: Service, b: Service) -> Bool {
            a.name == b.name && a.image == b.image && a.command == b.command && a.environment.map { "\($0.key)=\($0.value)" } == b.environment.map { "\($0.key)=\($0.value)" }
                && a.dependsOn.map { "\($0.service)/\($0.condition)" } == b.dependsOn.map { "\($0.service)/\($0.condition)" }
                && a.healthcheck == b.healthcheck && a.profiles == b.profiles && a.restart == b.restart
                && a.stopGracePeriod == b.stopGracePeriod && a.tmpfs == b.tmpfs && a.ports == b.ports && a.containerName == b.containerName
        }
    }

    /// Services in file order.
    public var services: [Service]

    public func service(_ name: String) -> Service? { services.first { $0.name == name } }

    public static func load(path: String) throws -> ComposeFile {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw CatenaError.configuration("\(path): cannot read the compose file")
        }
        return try parse(text, fileName: path)
    }

    public static func parse(_ text: String, fileName: String) throws -> ComposeFile {
        guard let root = try YAMLDocument.parse(text, fileName: fileName), case .mapping(let top, _) = root else {
            throw CatenaError.configuration("\(fileName): expected a mapping at the top")
        }
        guard let servicesNode = top.first(where: { $0.key == "services" })?.value, case .mapping(let entries, _) = servicesNode else {
            throw CatenaError.configuration("\(fileName): no services mapping")
        }
        func fail(_ node: ConfigNode, _ what: String) -> CatenaError { .configuration("\(fileName):\(node.line): \(what)") }
        func string(_ node: ConfigNode, _ what: String) throws -> String {
            guard case .scalar(let s, _, _) = node else { throw fail(node, "\(what): expected a scalar") }
            return s
        }
        func strings(_ node: ConfigNode, _ what: String) throws -> [String] {
            switch node {
            case .sequence(let items, _): return try items.map { try string($0, what) }
            case .scalar(let s, _, _): return s.split(separator: " ").map(String.init)  // the shell-less string form
            default: throw fail(node, "\(what): expected a list")
            }
        }
        var services: [Service] = []
        for entry in entries {
            guard case .mapping(let fields, _) = entry.value else { throw fail(entry.value, "services.\(entry.key): expected a mapping") }
            var s = Service(name: entry.key, image: nil, command: [], environment: [], dependsOn: [], healthcheck: nil, profiles: [],
                            restart: nil, stopGracePeriod: nil, tmpfs: [], ports: [], containerName: nil)
            for f in fields {
                let what = "services.\(entry.key).\(f.key)"
                switch f.key {
                case "image": s.image = try string(f.value, what)
                case "command": s.command = try strings(f.value, what)
                case "restart": s.restart = try string(f.value, what)
                case "stop_grace_period": s.stopGracePeriod = try string(f.value, what)
                case "container_name": s.containerName = try string(f.value, what)
                case "profiles": s.profiles = try strings(f.value, what)
                case "ports": s.ports = try strings(f.value, what)
                case "tmpfs": s.tmpfs = try strings(f.value, what)
                case "environment":
                    switch f.value {
                    case .mapping(let env, _): s.environment = try env.map { ($0.key, try string($0.value, "\(what).\($0.key)")) }
                    case .sequence(let items, _):
                        s.environment = try items.map {
                            let kv = try string($0, what)
                            guard let eq = kv.firstIndex(of: "=") else { return (kv, "") }
                            return (String(kv[..<eq]), String(kv[kv.index(after: eq)...]))
                        }
                    default: throw fail(f.value, "\(what): expected a mapping or list")
                    }
                case "depends_on":
                    switch f.value {
                    case .mapping(let deps, _):
                        s.dependsOn = try deps.map { d in
                            guard case .mapping(let c, _) = d.value, let cond = c.first(where: { $0.key == "condition" }) else { return (d.key, "service_started") }
                            return (d.key, try string(cond.value, "\(what).\(d.key).condition"))
                        }
                    default: s.dependsOn = try strings(f.value, what).map { ($0, "service_started") }
                    }
                case "healthcheck":
                    if case .mapping(let hc, _) = f.value, let test = hc.first(where: { $0.key == "test" }) { s.healthcheck = try strings(test.value, "\(what).test") }
                default: continue
                }
            }
            services.append(s)
        }
        return ComposeFile(services: services)
    }
}
