import Testing
@testable import ParleyRealtime

@Suite struct SSEParserTests {
    func parse(_ text: String, chunk: Int = .max) -> (events: [SSEParser.Event], parser: SSEParser) {
        var parser = SSEParser()
        var events: [SSEParser.Event] = []
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count {
            let end = min(bytes.count, index + chunk)
            events += parser.feed(bytes[index..<end])
            index = end
        }
        return (events, parser)
    }

    @Test func fieldsCommentsAndMultiLineData() {
        let stream = ": keep-alive\nevent: delta\nid: 7\ndata: first\ndata:second\n\ndata: {\"a\":1}\n\n"
        let (events, parser) = parse(stream)
        #expect(events == [SSEParser.Event(type: "delta", data: "first\nsecond", lastEventID: "7"),
                           SSEParser.Event(data: "{\"a\":1}", lastEventID: "7")])
        #expect(parser.lastEventID == "7")
    }

    @Test func everyLineEndingAndEveryChunkingGiveTheSameEvents() {
        let lf = "retry: 2500\r\ndata: a\r\n\r\ndata: b\rdata: c\r\rdata: d\n\n"
        for chunk in [1, 2, 3, 5, 1000] {
            let (events, parser) = parse(lf, chunk: chunk)
            #expect(events.map(\.data) == ["a", "b\nc", "d"], "chunk \(chunk)")
            #expect(parser.retryMilliseconds == 2500)
        }
    }

    @Test func edgeCasesFromTheStandard() {
        // No data: not dispatched. Empty data line: dispatched as "". Field without colon.
        #expect(parse("event: x\n\ndata\n\ndata:\n\n").events.map(\.data) == ["", ""])
        // A BOM at the start is skipped; "retry" with non-digits ignored; id with NUL ignored.
        let (events, parser) = parse("\u{FEFF}data: x\nretry: 12a\nid: a\u{0}b\n\n")
        #expect(events.map(\.data) == ["x"])
        #expect(parser.retryMilliseconds == nil && parser.lastEventID == "")
        // Only one leading space is removed; an unfinished event at the end is not dispatched.
        #expect(parse("data:  two\n\ndata: unfinished\n").events.map(\.data) == [" two"])
        // Unknown fields are ignored.
        #expect(parse("foo: bar\ndata: y\n\n").events.map(\.data) == ["y"])
    }

    @Test func oversizedEventsAreDroppedAndCounted() {
        var parser = SSEParser(maximumEventBytes: 64)
        let big = "data: " + String(repeating: "x", count: 100) + "\n\ndata: ok\n\n"
        #expect(parser.feed(Array(big.utf8)).map(\.data) == ["ok"])
        #expect(parser.oversizedEvents == 1)
    }
}
