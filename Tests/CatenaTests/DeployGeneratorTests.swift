import Foundation
import Testing
@testable import Catena

/// `catena deploy`: the committed docker-compose.yml and deploy/kubernetes/ are what the generator makes
/// from the example chain, and carry what scaling, health checks and ordering need.
@Suite("Deployment files")
struct DeployGeneratorTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let chainFile = "examples/flights/chain.yaml"

    static func generator() throws -> DeployGenerator {
        let chain = try ChainFileLoader.load(path: "\(root)/\(chainFile)")
        return DeployGenerator(chain: chain, options: DeployGenerator.Options(chainFile: chainFile))
    }

    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
    }

    static let regenerate = "run: swift run catena deploy compose --chain examples/flights/chain.yaml && swift run catena deploy kubernetes --chain examples/flights/chain.yaml"

    @Test("the committed docker-compose.yml is up to date with the example chain")
    func composeIsUpToDate() throws {
        let generated = try Self.generator().compose()
        let committed = try Self.read("docker-compose.yml")
        #expect(committed == generated, "docker-compose.yml is out of date; \(Self.regenerate)")
    }

    @Test("the committed deploy/kubernetes files are up to date, with no stale generated file left")
    func kubernetesIsUpToDate() throws {
        let files = try Self.generator().kubernetes()
        for f in files {
            let committed = try? Self.read("deploy/kubernetes/\(f.name)")
            #expect(committed == f.text, "deploy/kubernetes/\(f.name) is out of date or missing; \(Self.regenerate)")
        }
        let names = Set(files.map(\.name))
        let present = try FileManager.default.contentsOfDirectory(atPath: "\(Self.root)/deploy/kubernetes").filter { $0.hasSuffix(".yaml") }
        #expect(Set(present) == names, "deploy/kubernetes holds exactly the generated files")
    }

    @Test("compose: ordering, scaling, health checks, restart policies and grace periods")
    func composeShape() throws {
        let g = try Self.generator()
        let compose = try ComposeFile.parse(g.compose(), fileName: "docker-compose.yml")
        let kafka = try #require(compose.service("kafka"))
        #expect(kafka.image?.hasPrefix("apache/kafka:") == true && kafka.image != "apache/kafka:latest", "pinned Kafka image")
        #expect(kafka.healthcheck != nil && kafka.ports == ["9092:9092"])
        #expect(kafka.environment.contains { $0.key == "KAFKA_PROCESS_ROLES" && $0.value == "broker,controller" }, "KRaft")
        #expect(kafka.environment.contains { $0.key == "KAFKA_ADVERTISED_LISTENERS" && $0.value.contains("kafka:19092") && $0.value.contains("localhost:9092") })

        let topics = try #require(compose.service("topics"))
        #expect(topics.command == ["topics"] && topics.restart == "no")
        #expect(topics.dependsOn.map(\.service) == ["kafka"] && topics.dependsOn.map(\.condition) == ["service_healthy"])

        var catenaServices = ["coordinator"]
        for step in g.chain.steps {
            let s = try #require(compose.service(step.name), "a service for step \(step.name)")
            catenaServices.append(step.name)
            #expect(s.environment.contains { $0.key == "CATENA_STEP" && $0.value == step.name })
            #expect(s.command.first == "worker")
            #expect(s.containerName == nil && s.ports.isEmpty, "\(step.name) can be scaled: no container name or host port")
            let grace = try #require(s.stopGracePeriod.flatMap { Double($0.dropLast()) })
            #expect(grace > g.worstCaseRecordSeconds(step) + 20, "stop grace period of \(step.name) outlasts the in-flight record")
            #expect(s.healthcheck?.contains("health") == true && s.healthcheck?.contains(g.options.readyFile) == true)
            #expect(s.command.contains(g.options.readyFile), "the worker writes the file its health check tests")
        }
        for name in catenaServices {
            let s = try #require(compose.service(name))
            #expect(s.image == g.options.image, "one image for every Catena service")
            #expect(s.restart == "unless-stopped")
            #expect(s.dependsOn.map(\.service) == ["topics"] && s.dependsOn.map(\.condition) == ["service_completed_successfully"])
            #expect(s.environment.contains { $0.key == "CATENA_BROKERS" && $0.value == DeployGenerator.composeBrokers })
            #expect(s.environment.contains { $0.key == "CATENA_CHAIN" && $0.value == "/app/examples/flights/chain.yaml" })
            #expect(s.healthcheck != nil)
        }
        let ui = try #require(compose.service("kafka-ui"))
        #expect(ui.profiles == ["ui"], "the web UI only starts with --profile ui")
    }

    /// Every resource of a Kubernetes file, parsed with the project's YAML parser.
    static func manifest(_ text: String) throws -> [String: ConfigNode] {
        guard case .mapping(let entries, _)? = try YAMLDocument.parse(text, fileName: "manifest") else { return [:] }
        return Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static func value(_ node: ConfigNode?, _ path: String...) -> ConfigNode? {
        var n = node
        for key in path {
            switch n {
            case .mapping(let e, _)?: n = e.first { $0.key == key }?.value
            case .sequence(let items, _)?: n = Int(key).flatMap { $0 < items.count ? items[$0] : nil }
            default: return nil
            }
        }
        return n
    }

    /// A mapping of scalars as key=value texts (line numbers left out).
    static func pairs(_ node: ConfigNode?) -> [String] {
        guard case .mapping(let e, _)? = node else { return [] }
        return e.map { "\($0.key)=\(text($0.value) ?? "?")" }
    }

    static func text(_ node: ConfigNode?) -> String? {
        if case .scalar(let s, _, _)? = node { return s }
        return nil
    }

    @Test("kubernetes: a Deployment per step and for the coordinator, a topics Job, a KEDA ScaledObject per step capped at the partitions")
    func kubernetesShape() throws {
        let g = try Self.generator()
        var kinds: [String: [String: ConfigNode]] = [:]  // "Kind/name" -> resource
        for f in g.kubernetes() where f.name != "kustomization.yaml" {
            let r = try Self.manifest(f.text)
            let kind = try #require(Self.text(r["kind"])), name = try #require(Self.text(Self.value(r["metadata"], "name")))
            #expect(Self.text(r["apiVersion"]) != nil)
            kinds["\(kind)/\(name)"] = r
        }
        let prefix = "catena-flights"
        #expect(kinds["Job/\(prefix)-topics"] != nil)
        #expect(kinds["ConfigMap/\(prefix)-config"] != nil)
        let coordinator = try #require(kinds["Deployment/\(prefix)-coordinator"])
        #expect(Self.text(Self.value(coordinator["spec"], "replicas")) == "1")
        for step in g.chain.steps {
            let d = try #require(kinds["Deployment/\(prefix)-\(step.name)"], "Deployment for \(step.name)")
            let c = Self.value(d["spec"], "template", "spec", "containers", "0")
            #expect(Self.text(Self.value(c, "image")) == g.options.image)
            #expect(Self.text(Self.value(c, "env", "0", "value")) == step.name)
            #expect(Self.value(c, "readinessProbe", "exec", "command") != nil)
            #expect(Self.text(Self.value(d["spec"], "template", "spec", "terminationGracePeriodSeconds")) == String(g.stopGraceSeconds(step)))
            let selector = Self.value(d["spec"], "selector", "matchLabels"), labels = Self.value(d["spec"], "template", "metadata", "labels")
            #expect(selector != nil && Self.pairs(selector) == Self.pairs(labels), "selector matches the pod labels")

            let so = try #require(kinds["ScaledObject/\(prefix)-\(step.name)"], "ScaledObject for \(step.name)")
            #expect(Self.text(Self.value(so["spec"], "scaleTargetRef", "name")) == "\(prefix)-\(step.name)")
            #expect(Self.text(Self.value(so["spec"], "maxReplicaCount")) == String(g.chain.partitions), "capped at the partition count")
            let trigger = Self.value(so["spec"], "triggers", "0")
            #expect(Self.text(Self.value(trigger, "type")) == "kafka")
            #expect(Self.text(Self.value(trigger, "metadata", "consumerGroup")) == g.chain.consumerGroup(of: step.name))
            #expect(Self.text(Self.value(trigger, "metadata", "topic")) == g.chain.inputTopic(of: step.name))
        }
        #expect(kinds.count == 3 + 2 * g.chain.steps.count)
    }

    @Test("written strings read back unchanged, whatever they contain")
    func scalarsRoundTrip() throws {
        let samples = ["true", "no", "null", "~", "", "1:30", "9092:9092", "a: b", "#x", "x #y", "-", "- x", "@a", "*a", "&a", "!t", "%p",
                       "'q'", "\"d\"", "back\\slash", "line\nbreak", "tab\there", "01", "1e3", "0x10", "kafka:19092", "{a}", "[b]", "a,b", "é ü"]
        let doc = DeployYAML.map(samples.enumerated().map { ("k\($0.offset)", DeployYAML.string($0.element)) } + [("flow", .flow(samples))])
        guard case .mapping(let entries, _)? = try YAMLDocument.parse(doc.document(), fileName: "t") else { Issue.record("no mapping"); return }
        for (i, s) in samples.enumerated() {
            guard case .scalar(let text, let plain, _)? = entries.first(where: { $0.key == "k\(i)" })?.value else { Issue.record("k\(i) missing"); continue }
            #expect(text == s)
            if plain { #expect(!["true", "no", "null", "~", ""].contains(s) && Double(s) == nil, "\(s) must be quoted") }
        }
        guard case .sequence(let items, _)? = entries.last?.value else { Issue.record("no flow list"); return }
        #expect(items.compactMap { if case .scalar(let t, _, _) = $0 { return t } else { return nil } } == samples)
    }

    @Test("steps named like a service of the deployment are refused")
    func reservedNames() throws {
        let chain = ChainDefinition(name: "x", steps: [StepDefinition(name: "kafka", function: "builtin.identity")])
        #expect(throws: CatenaError.self) { try DeployGenerator(chain: chain, options: .init(chainFile: "x.yaml")).check() }
        let ok = ChainDefinition(name: "My_Chain", steps: [StepDefinition(name: "Step_1", function: "builtin.identity")])
        let g = DeployGenerator(chain: ok, options: .init(chainFile: "./chains/../x.yaml"))
        try g.check()
        #expect(g.kubernetesPrefix == "catena-my-chain")
        #expect(g.options.containerChainPath == "/app/x.yaml")
        #expect(g.kubernetes().contains { $0.name == "step-Step_1-deployment.yaml" && $0.text.contains("name: catena-my-chain-step-1\n") })
    }
}
