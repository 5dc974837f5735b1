/// The release this build is.
public enum VigilVersion {
    public static let current = "0.1.0"
}
