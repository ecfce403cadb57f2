import Testing
@testable import ParleyBoard
@testable import ParleyConfig

/// The libgpiod board where this machine has no GPIO chip (gpio-sim runs in the HIL VM):
/// what it reports when the chip is missing, and that it still takes socket presses.
@Suite struct GPIOBoardTests {
    static func settings(chip: String) -> BoardSettings {
        BoardSettings(kind: .gpio, required: true, chip: chip, pttLine: "ptt", volumeUpLine: nil, volumeDownLine: nil,
                      cancelLine: "cancel", volumeStepPercent: 10, activeLow: true, bias: "pull_up",
                      debounceMilliseconds: 20, leds: [.init(name: "rec", line: "led_rec")], cuesEnabled: true,
                      cueVolumePercent: 50, cueSources: [:])
    }

    @Test func aMissingChipIsOneProblemNamingWhatWasWantedAndTheBoardStillWorks() async throws {
        let (board, problems) = GPIOBoard.open(Self.settings(chip: "parley-no-such-chip"), longPressMilliseconds: 3000)
        defer { board.shutdown() }
        #expect(problems.count == 1)
        let text = problems.first.map { "\($0)" } ?? ""
        #expect(text.hasPrefix(#"GPIO chip "parley-no-such-chip" not found (board.chip); "#))
        if GPIOChip.available().isEmpty { #expect(text.contains("no GPIO chips at all")) }
        #expect(board.summary == "gpio: no chip")
        #expect(board.leds().isEmpty)
        var events = board.events.makeAsyncIterator()
        board.set(.ptt, pressed: true)
        board.set(.ptt, pressed: false)
        #expect(await events.next() == .pttPressed)
        // Debounced like a real button: the release inside 20 ms comes when the window closes.
        #expect(await events.next() == .pttReleased)
    }

    @Test func lineAndChipErrorsListWhatExists() {
        let line = GPIOError.lineNotFound("GPIO27", role: "ptt button", chip: "gpiochip0 [pinctrl-rp1]",
                                          names: ["GPIO17", "GPIO22"], lines: 54)
        #expect("\(line)" == #"GPIO line "GPIO27" for the ptt button not found on gpiochip0 [pinctrl-rp1]; named lines: GPIO17, GPIO22 (or an offset 0…53)"#)
        let chip = GPIOError.chipNotFound("gpiochip4", found: [
            GPIOChipInfo(name: "gpiochip0", label: "pinctrl-rp1", lines: 54),
            GPIOChipInfo(name: "gpiochip1", label: "", lines: 0, problem: "Permission denied")])
        #expect("\(chip)" == #"GPIO chip "gpiochip4" not found (board.chip); chips found: gpiochip0 [pinctrl-rp1] (54 lines); gpiochip1 (cannot open: Permission denied)"#)
    }
}
