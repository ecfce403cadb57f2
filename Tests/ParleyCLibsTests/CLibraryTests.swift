import CALSA
import CCurl
import CGpiod
import COpus
import CParleyLazy
import CParleyShims
import CSpeexDSP
import Testing

/// The five Debian libraries link and answer, and the shims reach the variadic calls.
@Suite struct CLibraryTests {
    @Test func librariesLinkAndReportVersions() {
        #expect(String(cString: snd_asoundlib_version()).hasPrefix("1."))
        #expect(String(cString: opus_get_version_string()).hasPrefix("libopus 1."))
        #expect(String(cString: gpiod_version_string()).hasPrefix("1.6"))
        #expect(String(cString: curl_version()).contains("OpenSSL"))  // opened at this first call
        #expect(CParley_lazy_failure(CParleyLazyCurl) == nil)
        var err: Int32 = 0
        let resampler = speex_resampler_init(1, 48000, 24000, 5, &err)
        #expect(resampler != nil && err == 0)
        speex_resampler_destroy(resampler)
    }

    @Test func curlShimsSetOptions() {
        let handle = curl_easy_init()
        defer { curl_easy_cleanup(handle) }
        #expect(CParley_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, 1500) == CURLE_OK)
        #expect(CParley_curl_setopt_string(handle, CURLOPT_URL, "http://127.0.0.1:9/") == CURLE_OK)
        #expect(CParley_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 500) == CURLE_OK)
        #expect(curl_easy_perform(handle) == CURLE_COULDNT_CONNECT)
        var code = 0
        #expect(CParley_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        #expect(code == 0)
    }

    @Test func opusShimsRoundTrip() {
        var err: Int32 = 0
        let encoder = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err)
        defer { opus_encoder_destroy(encoder) }
        #expect(CParley_opus_set_bitrate(encoder, 24000) == OPUS_OK)
        var bitrate: Int32 = 0
        #expect(CParley_opus_get_bitrate(encoder, &bitrate) == OPUS_OK)
        #expect(bitrate == 24000)
    }

    @Test func missingGPIOChipIsENOENT() {
        #expect(gpiod_chip_open_by_name("parley-no-such-chip") == nil)
    }
}
