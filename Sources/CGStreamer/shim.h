// GStreamer core, app (appsrc/appsink) and SDP, and libcrypto for the DTLS certificate.
// webrtcbin itself is reached through GObject properties and signals (CParleyWebRTC), so
// the build needs no libgstreamer-plugins-bad1.0-dev (which pulls in OpenCV, ~600 MB).
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>
