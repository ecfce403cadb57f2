# Sourced by deb.sh and bench.sh: how the package's daemons are built, so both measure what
# ships. The Swift runtime linked in (a device has no toolchain); code optimised for size
# (1.3 MB less; the capture chain's CPU is speexdsp's: -O and -Osize builds of CaptureChainCPU measure the same);
# identical functions folded where that is safe; the code run on the common paths laid out
# together; each in its own build directory.
#   shipped_flags plain|webrtc   the `swift build` flags (plain: without the WebRTC trait)
#   shipped_build plain|webrtc   builds it and prints the binary's path
shipped_flags() {
    # Each function in its own section, those packaging/parleyd.order names (make code-order)
    # laid out together, the rest dropped where unused (--gc-sections, as swiftc links).
    local layout="-Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections"
    layout="$layout -Xlinker --section-ordering-file=$PWD/packaging/parleyd.order"
    local common="-c release --static-swift-stdlib -Xswiftc -Osize -Xlinker --icf=safe $layout"
    case $1 in
        plain) echo "$common --disable-default-traits --scratch-path .build-ship-plain" ;;
        webrtc) echo "$common --scratch-path .build-ship-webrtc" ;;
    esac
}
shipped_build() {
    local log
    # shellcheck disable=SC2046
    log=$(swift build $(shipped_flags "$1") --product parleyd 2>&1) || { echo "$log" >&2; return 1; }
    echo ".build-ship-$1/release/parleyd"
}
