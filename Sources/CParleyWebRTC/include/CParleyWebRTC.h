// Typed wrappers for what Swift cannot call on webrtcbin: GObject's variadic property and
// signal calls, signal handlers with a context pointer (Swift passes an Unmanaged object;
// callbacks run on GStreamer's threads), OpenSSL's variadic key generation. One job each.
#ifndef CPARLEYWEBRTC_H
#define CPARLEYWEBRTC_H

#include <gst/gst.h>
#include <stdint.h>

/// GstWebRTCPeerConnectionState (gst/webrtc/webrtc_fwd.h, stable since 1.16).
enum {
    CParley_PEER_NEW = 0, CParley_PEER_CONNECTING = 1, CParley_PEER_CONNECTED = 2,
    CParley_PEER_DISCONNECTED = 3, CParley_PEER_FAILED = 4, CParley_PEER_CLOSED = 5,
};
/// GstWebRTCICEGatheringState.
enum { CParley_GATHERING_NEW = 0, CParley_GATHERING_GATHERING = 1, CParley_GATHERING_COMPLETE = 2 };

typedef void (*CParley_void_callback)(void *context);
typedef void (*CParley_int_callback)(void *context, int value);
/// `text` is NULL on success for completions, else the reason.
typedef void (*CParley_text_callback)(void *context, const char *text);
typedef void (*CParley_samples_callback)(void *context, const int16_t *samples, size_t count);
// Every connection holds the context until GLib drops the handler (disconnect, finalize):
// `release` is then called once, so a callback never sees a freed context.

/// gst_init_check; NULL or the reason (free with g_free).
char *CParley_gst_init(void);

/// Host candidates only on these addresses (NULL-terminated; e.g. 127.0.0.1, which libnice
/// leaves out by default), and no UPnP port mapping.
void CParley_webrtc_restrict_candidates(GstElement *webrtc, const char *const *addresses);
/// The first transceiver sends and receives this codec (caps string), so the offer can be made
/// before the microphone's first buffer (webrtcbin 1.22 waits for caps otherwise).
gboolean CParley_webrtc_set_codec(GstElement *webrtc, const char *caps);
/// A reliable, ordered data channel; a new reference, or NULL.
GObject *CParley_webrtc_create_data_channel(GstElement *webrtc, const char *label);
/// create-offer, then set-local-description with it; `done` gets NULL or the reason.
void CParley_webrtc_create_offer(GstElement *webrtc, CParley_text_callback done, void *context,
                                 CParley_void_callback release);
/// The local description as SDP text (free with g_free), NULL before one is set.
char *CParley_webrtc_local_sdp(GstElement *webrtc);
/// set-remote-description with an answer; `done` gets NULL or the reason.
void CParley_webrtc_set_answer(GstElement *webrtc, const char *sdp, CParley_text_callback done, void *context,
                               CParley_void_callback release);
/// The PEM certificate the remote side presented in the DTLS handshake (free with g_free).
char *CParley_webrtc_remote_certificate(GstElement *webrtc);
/// Calls `changed` with an integer (enum) property's value each time it changes.
gulong CParley_notify_int(GObject *object, const char *property, CParley_int_callback changed, void *context,
                          CParley_void_callback release);
/// Remote audio tracks are decoded to S16LE mono at `rate` and handed to `samples`.
gulong CParley_webrtc_receive_audio(GstElement *pipeline, GstElement *webrtc, int rate,
                                   CParley_samples_callback samples, CParley_text_callback failed, void *context,
                                   CParley_void_callback release);
/// Uses this PEM (certificate + key) for DTLS instead of webrtcbin's generated RSA one.
gulong CParley_pipeline_use_dtls_pem(GstElement *pipeline, const char *pem);
/// Pipeline errors (bus ERROR messages), as "element: message"; every bus message is dropped
/// after (nobody pops them).
void CParley_pipeline_watch_errors(GstElement *pipeline, CParley_text_callback error, void *context,
                                   CParley_void_callback release);
/// Pushes PCM with a timestamp; FALSE when the source refused it (flushing, stopped).
gboolean CParley_appsrc_push_pcm(GstElement *appsrc, const int16_t *samples, size_t count,
                                 uint64_t pts_ns, uint64_t duration_ns);

/// Data channel events; `message` gets each text message.
void CParley_data_channel_connect(GObject *channel, CParley_void_callback open, CParley_void_callback closed,
                                  CParley_text_callback message, CParley_text_callback error, void *context,
                                  CParley_void_callback release);
void CParley_data_channel_send(GObject *channel, const char *text);
void CParley_data_channel_close(GObject *channel);

/// A fresh ECDSA P-256 self-signed certificate and key as PEM (free with g_free), or NULL.
char *CParley_ecdsa_certificate_pem(void);
/// The SHA-256 fingerprint of the first certificate in a PEM ("AB:CD:…", free with g_free).
char *CParley_certificate_fingerprint(const char *pem);

#endif
