import Glibc
import Testing
@testable import ParleyConfig

@Suite struct SecretTests {
    let dir = TestDirectory()
    let secret = "sk-proj-KNOWN-SECRET-0123456789abcdef"

    func load(_ toml: String, environment: [String: String] = [:]) throws(ConfigError) -> LoadedConfig {
        let main = dir.write("parley.toml", toml)
        return try LoadedConfig.load(
            paths: ConfigPaths(mainFile: main, dropInDirectory: dir.path + "/conf.d", mainFileRequired: true),
            environment: environment)
    }

    @Test func secretFileReadableByOthersIsRefused() {
        let keyFile = dir.write("openai.key", secret + "\n", mode: 0o644)
        let error = #expect(throws: ConfigError.self) {
            try load("[backend]\nkind = \"openai\"\n[backend.openai]\napi_key_file = \"\(keyFile)\"\n")
        }
        let problem = error?.problems.first
        #expect(problem?.kind == .secret)
        #expect(problem?.message.contains(keyFile) == true)
        #expect(problem?.message.contains("0644") == true)
        #expect(problem?.hint.contains("chmod 600 \(keyFile)") == true)
        #expect(error?.description.contains(secret) == false)
    }

    @Test func privateSecretFileIsReadAndNeverPrinted() throws {
        let keyFile = dir.write("openai.key", secret + "\n", mode: 0o600)
        let config = try load("[backend]\nkind = \"openai\"\n[backend.openai]\napi_key_file = \"\(keyFile)\"\n")
        #expect(config.settings.backend.openAI.apiKey?.reveal() == secret)
        #expect("\(config.settings.backend.openAI.apiKey!)" == "<redacted secret from file \(keyFile)>")
        let report = ConfigReport.effective(config)
        #expect(!report.contains(secret))
        #expect(report.contains("secret read, \(secret.utf8.count) bytes, value redacted"))
    }

    @Test func systemdCredentialIsReadFromCredentialsDirectory() throws {
        dir.write("creds/openai", secret, mode: 0o400)
        let toml = "[backend]\nkind = \"openai\"\n[backend.openai]\napi_key_credential = \"openai\"\n"
        let config = try load(toml, environment: ["CREDENTIALS_DIRECTORY": dir.path + "/creds"])
        #expect(config.settings.backend.openAI.apiKey?.reveal() == secret)
        #expect(config.settings.backend.openAI.apiKey?.origin == "credential openai")

        let error = #expect(throws: ConfigError.self) { try load(toml, environment: ["SYSTEMD_UNIT_PATH": dir.path + "/none"]) }
        #expect(error?.problems.first?.hint.contains("LoadCredential=openai:") == true)
    }

    /// Regression: with *_credential keys, `sudo parleyd check-config` exited 78 ("needs
    /// $CREDENTIALS_DIRECTORY"), so the documented `check-config && systemctl start` never
    /// started the service. Outside the service the unit's LoadCredential= source is read.
    @Test func outsideTheServiceACredentialIsReadFromTheUnitsLoadCredential() throws {
        let source = dir.write("store/openai.key", secret + "\n", mode: 0o600)
        dir.write("units/parleyd.service", "[Unit]\nDescription=x\n[Service]\nLoadCredential=other:/nowhere\n")
        dir.write("units/parleyd.service.d/50-key.conf", "[Service]\nLoadCredential=openai:\(source)\n")
        let toml = "[backend]\nkind = \"openai\"\n[backend.openai]\napi_key_credential = \"openai\"\n"
        let environment = ["SYSTEMD_UNIT_PATH": dir.path + "/units"]
        let config = try load(toml, environment: environment)
        #expect(config.settings.backend.openAI.apiKey?.reveal() == secret)
        #expect(config.settings.backend.openAI.apiKey?.origin == "credential openai (\(source), from the unit's LoadCredential=)")
        chmod(source, 0o644)
        let error = #expect(throws: ConfigError.self) { try load(toml, environment: environment) }
        #expect(error?.problems.first?.message.contains("is readable by group or others (mode 0644)") == true)
        #expect(error?.description.contains(secret) == false)
    }

    @Test func loadCredentialLinesAreReadAsSystemdAppliesThem() {
        let sources = UnitCredentials.sources([
            "[Service]\nLoadCredential=a:/x/a\nLoadCredential=b:rel.key\n[Install]\nLoadCredential=c:/not-service\n",
            "[Service]\nLoadCredential=\nLoadCredential=d\n",  // reset, then a bare name from the credstore
        ]) { $0 == "/run/credstore/d" }
        #expect(sources == ["d": "/run/credstore/d"])
        #expect(UnitCredentials.sources(["[Service]\nLoadCredential=b:rel.key\n"]) { _ in false } == ["b": "/etc/credstore/rel.key"])
    }

    @Test func onlyTheChosenBackendsSecretsAreRead() throws {
        // A fleet-wide file may name secrets that exist only on devices using that backend.
        let config = try load("[backend.agent_c]\ntoken_file = \"/etc/parley/absent.jwt\"\n")
        #expect(config.secrets.isEmpty)
    }
}
