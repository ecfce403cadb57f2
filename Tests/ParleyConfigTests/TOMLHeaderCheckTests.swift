import Testing

@testable import ParleyConfig

/// toml++ aborted the process on these (fuzzing found it); they must be config errors.
@Suite struct TOMLHeaderCheckTests {
    func problems(_ text: String) -> [ConfigProblem] {
        var layers = ConfigLoader.Layers()
        ConfigLoader(environment: [:]).loadText(text, path: "/etc/parley/parley.toml", into: &layers)
        return layers.problems
    }

    @Test(arguments: ["[[[", "[[ {", "[.a]", "[ =", "[é]", "x = 1\n\n  [[!b]]\n", "[[a]]\n[ #",
                               "[a]\n[\n", "[ ", "[[", "x = 1\n["])
    func headersThatCrashedTomlPlusPlusAreSyntaxErrors(_ text: String) {
        let found = problems(text)
        #expect(found.count == 1)
        #expect(found.first?.kind == .syntax)
        #expect(found.first?.message.contains("a table header must start with a key") == true)
    }

    @Test func lineAndColumnPointAtTheCharacter() {
        #expect(TOMLHeaderCheck.firstBadHeader(in: "[audio]\nrate = 48000\n\n[[ .x]]") ==
                TOMLHeaderCheck.Problem(line: 4, column: 4, found: "'.'"))
        #expect(TOMLHeaderCheck.firstBadHeader(in: "[a]\n[\nb = 1")?.found == "the end of the line")
    }

    @Test(arguments: [
        "[audio]\nrate = 48000\n[[tools]]\n[\"quoted key\"]\n['literal']\n[ spaced . dotted ]\n",
        "grid = [\n  [{x = 1}],\n  [\"[\"],\n]\n",             // a value, not a header
        "text = \"\"\"\n[.not a header\n\"\"\"\nlit = '''\n[!\n'''\n",
        "# [.comment]\nkey = \"[.string]\"\n",
        "inline = { a = [\n[1]] }\n",
    ])
    func validTomlPasses(_ text: String) {
        #expect(TOMLHeaderCheck.firstBadHeader(in: text) == nil)
    }
}
