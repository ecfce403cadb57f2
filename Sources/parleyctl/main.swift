import ParleyControlClient

ParleyCtlMain.launch()
