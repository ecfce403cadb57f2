/// The product's version: what `parleyd --version` and `parleyctl --version` print, status
/// reports, and provisioning sends. Here because both executables link this module.
public enum ParleyVersion {
    public static let string = "0.1.0"
}
