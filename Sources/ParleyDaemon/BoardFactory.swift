import Logging
import ParleyBoard
import ParleyConfig

/// Builds the configured board. GPIO that is configured but missing is either fatal
/// (`board.required`: exit 78, the unit does not restart-loop) or logged and left out.
struct BoardFactory {
    let settings: ParleySettings
    let logger: Logger

    /// nil: a required chip or line is missing (already logged).
    func make() -> (any Board)? {
        let board = settings.board
        let longPress = settings.ptt.longPressMilliseconds
        switch board.kind {
        case .sim:
            return SimulatedBoard(longPressMilliseconds: longPress, leds: Self.simulatedLEDs(board))
        case .gpio:
            let logger = logger
            // No chip yet (a HAT's expander still probing, a USB adapter not plugged in): wait for
            // it rather than exit into a loop or stop for good. Lines missing on a chip that is
            // there are a configuration error, as before.
            let (gpio, problems) = GPIOBoard.open(board, longPressMilliseconds: longPress, waitForChip: board.required) { message, problem in
                if problem { logger.error("\(message)") } else { logger.notice("\(message)") }
            }
            if board.required, let problem = problems.first, case .chipNotFound = problem {
                logger.error("\(problem); waiting for it: buttons and LEDs start when it appears (the control socket works meanwhile)")
                return gpio
            }
            for problem in problems {
                if board.required {
                    logger.critical("\(problem)")
                } else {
                    logger.warning("\(problem); running without it (board.required = false)")
                }
            }
            if board.required && !problems.isEmpty {
                logger.critical("fix board.chip / the *_line keys (gpioinfo lists chips and lines), or set board.required = false")
                gpio.shutdown()
                return nil
            }
            logger.info("board: \(gpio.summary)")
            return gpio
        }
    }

    /// The LEDs of the board profile. The simulated board without any shows one "status"
    /// LED with the default patterns, so status always has something to read.
    static func simulatedLEDs(_ board: BoardSettings) -> LEDProfile {
        let leds = board.leds.map { (name: $0.name, states: $0.patterns) }
        return LEDProfile(patterns: leds.isEmpty ? [("status", [:])] : leds)
    }
}
