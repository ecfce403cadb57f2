import ParleyControlClient
import ParleyDaemon

// One binary for both commands: the package installs parleyctl as a symlink to parleyd
// (half the size on a device), and the name it was called by decides.
if CommandLine.arguments.first?.split(separator: "/").last == "parleyctl" {
    ParleyCtlMain.launch()
}
await ParleydCommand.launch()
