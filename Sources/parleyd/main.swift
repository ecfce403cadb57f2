import ParleyDaemon

await ParleydCommand.launch()
