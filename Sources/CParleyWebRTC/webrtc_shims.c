// See include/CParleyWebRTC.h. webrtcbin's own header (libgstreamer-plugins-bad1.0-dev) is not
// used: its types are reached by name, and the one struct read is mirrored below.
#include "CParleyWebRTC.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

/// GstWebRTCSessionDescription (gst/webrtc/rtcsessiondescription.h): a public two-field
/// struct, freed by its boxed type as gst_sdp_message_free(sdp) + g_free.
typedef struct {
    int type;  // GstWebRTCSDPType: 1 offer, 3 answer
    GstSDPMessage *sdp;
} SessionDescription;
enum { SDP_TYPE_ANSWER = 3 };

static GType session_description_type(void) {
    return g_type_from_name("GstWebRTCSessionDescription");  // registered once webrtcbin exists
}

// MARK: handlers: a refcounted box holding the Swift context

typedef struct {
    void *context;
    CParley_void_callback release;
    CParley_void_callback open, closed;
    CParley_text_callback text, error;
    CParley_int_callback changed;
    CParley_samples_callback samples;
    char *property;
    GstElement *pipeline;  // not owned: the pipeline owns the handlers
    int rate;
} Handler;

static void handler_clear(gpointer data) {
    Handler *handler = data;
    handler->release(handler->context);
    g_free(handler->property);
}

static Handler *handler_new(void *context, CParley_void_callback release) {
    Handler *handler = g_rc_box_new0(Handler);
    handler->context = context;
    handler->release = release;
    return handler;
}

static void handler_release(gpointer data) { g_rc_box_release_full(data, handler_clear); }
static void handler_release_closure(gpointer data, GClosure *closure) {
    (void)closure;
    handler_release(data);
}

static gulong connect(gpointer instance, const char *signal, GCallback callback, Handler *handler) {
    return g_signal_connect_data(instance, signal, callback, g_rc_box_acquire(handler), handler_release_closure, 0);
}

// MARK: setup

char *CParley_gst_init(void) {
    GError *error = NULL;
    if (gst_init_check(NULL, NULL, &error)) return NULL;
    char *reason = g_strdup(error ? error->message : "gst_init_check failed");
    g_clear_error(&error);
    return reason;
}

void CParley_webrtc_restrict_candidates(GstElement *webrtc, const char *const *addresses) {
    GObject *ice = NULL;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice) return;
    GObject *agent = NULL;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) g_object_get(ice, "agent", &agent, NULL);
    if (agent) {
        g_object_set(agent, "upnp", FALSE, NULL);
        g_object_unref(agent);
    }
    for (const char *const *address = addresses; address && *address; address++) {
        gboolean added = FALSE;
        g_signal_emit_by_name(ice, "add-local-ip-address", *address, &added);
    }
    g_object_unref(ice);
}

gboolean CParley_webrtc_set_codec(GstElement *webrtc, const char *caps) {
    GObject *transceiver = NULL;
    g_signal_emit_by_name(webrtc, "get-transceiver", 0, &transceiver);
    if (!transceiver) return FALSE;
    GstCaps *preferences = gst_caps_from_string(caps);
    // GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV = 4
    g_object_set(transceiver, "codec-preferences", preferences, "direction", 4, NULL);
    gst_caps_unref(preferences);
    g_object_unref(transceiver);
    return TRUE;
}

GObject *CParley_webrtc_create_data_channel(GstElement *webrtc, const char *label) {
    GObject *channel = NULL;
    g_signal_emit_by_name(webrtc, "create-data-channel", label, NULL, &channel);
    return channel;
}

// MARK: offer and answer

typedef struct {
    GstElement *webrtc;
    Handler *handler;
} Request;

static void request_free(gpointer data) {
    Request *request = data;
    gst_object_unref(request->webrtc);
    handler_release(request->handler);
    g_free(request);
}

static Request *request_new(GstElement *webrtc, CParley_text_callback done, void *context, CParley_void_callback release) {
    Request *request = g_new0(Request, 1);
    request->webrtc = gst_object_ref(webrtc);
    request->handler = handler_new(context, release);
    request->handler->text = done;
    return request;
}

/// The error a promise reply carries, if any (webrtcbin 1.22 replies {error: GError}).
static char *reply_error(GstPromise *promise) {
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) return g_strdup("no reply from webrtcbin");
    const GstStructure *reply = gst_promise_get_reply(promise);
    if (!reply || !gst_structure_has_field(reply, "error")) return NULL;
    GError *error = NULL;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, NULL);
    char *reason = g_strdup(error ? error->message : "webrtcbin reported an error");
    g_clear_error(&error);
    return reason;
}

static void offer_created(GstPromise *promise, gpointer data) {
    Request *request = data;
    char *reason = reply_error(promise);
    SessionDescription *offer = NULL;
    if (!reason) {
        const GstStructure *reply = gst_promise_get_reply(promise);
        if (reply) gst_structure_get(reply, "offer", session_description_type(), &offer, NULL);
        if (!offer) reason = g_strdup("webrtcbin made no offer");
    }
    if (offer) {
        g_signal_emit_by_name(request->webrtc, "set-local-description", offer, NULL);
        g_boxed_free(session_description_type(), offer);
    }
    request->handler->text(request->handler->context, reason);
    g_free(reason);
    gst_promise_unref(promise);
}

void CParley_webrtc_create_offer(GstElement *webrtc, CParley_text_callback done, void *context,
                                 CParley_void_callback release) {
    Request *request = request_new(webrtc, done, context, release);
    GstPromise *promise = gst_promise_new_with_change_func(offer_created, request, request_free);
    g_signal_emit_by_name(webrtc, "create-offer", NULL, promise);
}

char *CParley_webrtc_local_sdp(GstElement *webrtc) {
    SessionDescription *description = NULL;
    g_object_get(webrtc, "local-description", &description, NULL);
    if (!description) return NULL;
    char *text = gst_sdp_message_as_text(description->sdp);
    g_boxed_free(session_description_type(), description);
    return text;
}

static void answer_set(GstPromise *promise, gpointer data) {
    Request *request = data;
    char *reason = reply_error(promise);
    request->handler->text(request->handler->context, reason);
    g_free(reason);
    gst_promise_unref(promise);
}

void CParley_webrtc_set_answer(GstElement *webrtc, const char *sdp, CParley_text_callback done, void *context,
                               CParley_void_callback release) {
    Request *request = request_new(webrtc, done, context, release);
    GstSDPMessage *message = NULL;
    if (gst_sdp_message_new_from_text(sdp, &message) != GST_SDP_OK || !message) {
        done(context, "the answer is not SDP");
        request_free(request);
        return;
    }
    SessionDescription *answer = g_new0(SessionDescription, 1);
    answer->type = SDP_TYPE_ANSWER;
    answer->sdp = message;
    GstPromise *promise = gst_promise_new_with_change_func(answer_set, request, request_free);
    g_signal_emit_by_name(webrtc, "set-remote-description", answer, promise);
    g_boxed_free(session_description_type(), answer);
}

char *CParley_webrtc_remote_certificate(GstElement *webrtc) {
    GObject *transceiver = NULL, *sender = NULL, *transport = NULL;
    char *pem = NULL;
    g_signal_emit_by_name(webrtc, "get-transceiver", 0, &transceiver);
    if (transceiver) g_object_get(transceiver, "sender", &sender, NULL);
    if (sender) g_object_get(sender, "transport", &transport, NULL);
    if (transport) g_object_get(transport, "remote-certificate", &pem, NULL);
    if (transport) g_object_unref(transport);
    if (sender) g_object_unref(sender);
    if (transceiver) g_object_unref(transceiver);
    return pem;
}

// MARK: notifications

static void property_changed(GObject *object, GParamSpec *spec, gpointer data) {
    (void)spec;
    Handler *handler = data;
    gint value = 0;
    g_object_get(object, handler->property, &value, NULL);
    handler->changed(handler->context, value);
}

gulong CParley_notify_int(GObject *object, const char *property, CParley_int_callback changed, void *context,
                          CParley_void_callback release) {
    Handler *handler = handler_new(context, release);
    handler->changed = changed;
    handler->property = g_strdup(property);
    char *signal = g_strconcat("notify::", property, NULL);
    gulong id = connect(object, signal, G_CALLBACK(property_changed), handler);
    g_free(signal);
    handler_release(handler);
    return id;
}

// MARK: remote audio

static GstFlowReturn sample_ready(GstAppSink *sink, gpointer data) {
    Handler *handler = data;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample) return GST_FLOW_EOS;
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
        handler->samples(handler->context, (const int16_t *)map.data, map.size / sizeof(int16_t));
        gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

static void pad_added(GstElement *webrtc, GstPad *pad, gpointer data) {
    (void)webrtc;
    Handler *handler = data;
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
    char *description = g_strdup_printf(
        "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! "
        "audio/x-raw,format=S16LE,rate=%d,channels=1,layout=interleaved ! "
        "appsink name=speaker sync=false max-buffers=50 drop=true", handler->rate);
    GError *error = NULL;
    GstElement *bin = gst_parse_bin_from_description(description, TRUE, &error);
    g_free(description);
    if (!bin) {
        handler->error(handler->context, error ? error->message : "cannot build the receive path");
        g_clear_error(&error);
        return;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(bin), "speaker");
    GstAppSinkCallbacks callbacks = {0};
    callbacks.new_sample = sample_ready;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, g_rc_box_acquire(handler), handler_release);
    gst_object_unref(sink);
    gst_bin_add(GST_BIN(handler->pipeline), bin);
    GstPad *input = gst_element_get_static_pad(bin, "sink");
    GstPadLinkReturn linked = gst_pad_link(pad, input);
    gst_object_unref(input);
    if (linked != GST_PAD_LINK_OK) {
        handler->error(handler->context, "cannot link the remote track to the decoder");
        return;
    }
    gst_element_sync_state_with_parent(bin);
}

gulong CParley_webrtc_receive_audio(GstElement *pipeline, GstElement *webrtc, int rate,
                                   CParley_samples_callback samples, CParley_text_callback failed, void *context,
                                   CParley_void_callback release) {
    Handler *handler = handler_new(context, release);
    handler->samples = samples;
    handler->error = failed;
    handler->pipeline = pipeline;
    handler->rate = rate;
    gulong id = connect(webrtc, "pad-added", G_CALLBACK(pad_added), handler);
    handler_release(handler);
    return id;
}

// MARK: DTLS certificate

static void element_added(GstBin *bin, GstBin *sub_bin, GstElement *element, gpointer data) {
    (void)bin;
    (void)sub_bin;
    GstElementFactory *factory = gst_element_get_factory(element);
    if (factory && strcmp(GST_OBJECT_NAME(factory), "dtlssrtpdec") == 0) g_object_set(element, "pem", data, NULL);
}

static void pem_free(gpointer data, GClosure *closure) {
    (void)closure;
    g_free(data);
}

gulong CParley_pipeline_use_dtls_pem(GstElement *pipeline, const char *pem) {
    return g_signal_connect_data(pipeline, "deep-element-added", G_CALLBACK(element_added), g_strdup(pem), pem_free, 0);
}

// MARK: bus

static GstBusSyncReply bus_message(GstBus *bus, GstMessage *message, gpointer data) {
    (void)bus;
    Handler *handler = data;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GError *error = NULL;
        gst_message_parse_error(message, &error, NULL);
        char *text = g_strdup_printf("%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                                     error ? error->message : "error");
        handler->error(handler->context, text);
        g_free(text);
        g_clear_error(&error);
    }
    gst_message_unref(message);  // a sync handler that drops a message frees it (GstBusSyncHandler)
    return GST_BUS_DROP;
}

void CParley_pipeline_watch_errors(GstElement *pipeline, CParley_text_callback error, void *context,
                                   CParley_void_callback release) {
    Handler *handler = handler_new(context, release);
    handler->error = error;
    GstBus *bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, bus_message, handler, handler_release);
    gst_object_unref(bus);
}

gboolean CParley_appsrc_push_pcm(GstElement *appsrc, const int16_t *samples, size_t count,
                                 uint64_t pts_ns, uint64_t duration_ns) {
    gsize bytes = count * sizeof(int16_t);
    GstBuffer *buffer = gst_buffer_new_allocate(NULL, bytes, NULL);
    gst_buffer_fill(buffer, 0, samples, bytes);
    GST_BUFFER_PTS(buffer) = pts_ns;
    GST_BUFFER_DURATION(buffer) = duration_ns;
    return gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer) == GST_FLOW_OK;
}

// MARK: data channel

static void channel_opened(GObject *channel, gpointer data) {
    (void)channel;
    Handler *handler = data;
    handler->open(handler->context);
}

static void channel_closed(GObject *channel, gpointer data) {
    (void)channel;
    Handler *handler = data;
    handler->closed(handler->context);
}

static void channel_message(GObject *channel, const char *text, gpointer data) {
    (void)channel;
    Handler *handler = data;
    if (text) handler->text(handler->context, text);
}

static void channel_error(GObject *channel, GError *error, gpointer data) {
    (void)channel;
    Handler *handler = data;
    handler->error(handler->context, error ? error->message : "data channel error");
}

void CParley_data_channel_connect(GObject *channel, CParley_void_callback open, CParley_void_callback closed,
                                  CParley_text_callback message, CParley_text_callback error, void *context,
                                  CParley_void_callback release) {
    Handler *handler = handler_new(context, release);
    handler->open = open;
    handler->closed = closed;
    handler->text = message;
    handler->error = error;
    connect(channel, "on-open", G_CALLBACK(channel_opened), handler);
    connect(channel, "on-close", G_CALLBACK(channel_closed), handler);
    connect(channel, "on-message-string", G_CALLBACK(channel_message), handler);
    connect(channel, "on-error", G_CALLBACK(channel_error), handler);
    handler_release(handler);
}

void CParley_data_channel_send(GObject *channel, const char *text) {
    g_signal_emit_by_name(channel, "send-string", text);
}

void CParley_data_channel_close(GObject *channel) {
    g_signal_emit_by_name(channel, "close");
}

// MARK: certificates

char *CParley_ecdsa_certificate_pem(void) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *certificate = X509_new();
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (!key || !certificate || !bio) goto done;
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), (long)g_random_int_range(1, G_MAXINT32));
    X509_gmtime_adj(X509_getm_notBefore(certificate), -86400);
    X509_gmtime_adj(X509_getm_notAfter(certificate), 30L * 86400);
    X509_NAME *name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"parley", -1, -1, 0);
    X509_set_issuer_name(certificate, name);
    X509_set_pubkey(certificate, key);
    if (!X509_sign(certificate, key, EVP_sha256())) goto done;
    if (!PEM_write_bio_X509(bio, certificate) || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) goto done;
    char *bytes = NULL;
    long length = BIO_get_mem_data(bio, &bytes);
    pem = g_strndup(bytes, (gsize)length);
done:
    BIO_free(bio);
    X509_free(certificate);
    EVP_PKEY_free(key);
    return pem;
}

char *CParley_certificate_fingerprint(const char *pem) {
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *certificate = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    char *fingerprint = NULL;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (certificate && X509_digest(certificate, EVP_sha256(), digest, &length)) {
        GString *text = g_string_sized_new(length * 3);
        for (unsigned int i = 0; i < length; i++) g_string_append_printf(text, i ? ":%02X" : "%02X", digest[i]);
        fingerprint = g_string_free(text, FALSE);
    }
    X509_free(certificate);
    BIO_free(bio);
    return fingerprint;
}
