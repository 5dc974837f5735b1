import CQREncode

/// QR codes for TOTP enrolment, encoded by Debian's libqrencode and drawn as SVG (one path, so
/// the console can inline it).
public enum QRCodeSVG {
    /// The SVG of `text` at error-correction level M with a 4-module quiet zone; nil when
    /// libqrencode cannot encode it (too long).
    public static func render(_ text: String, moduleSize: Int = 4) -> String? {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let quiet = 4
        let side = (width + 2 * quiet) * moduleSize
        var path = ""
        for row in 0..<width {
            for column in 0..<width where code.pointee.data[row * width + column] & 1 == 1 {
                path += "M\((column + quiet) * moduleSize) \((row + quiet) * moduleSize)h\(moduleSize)v\(moduleSize)h-\(moduleSize)z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(side)" height="\(side)" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">\
            <rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }
}
