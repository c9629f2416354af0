// The emulator's request handling (form and query decoding, parameters, the four endpoints,
// idempotency) on a run of requests against one fresh store. Input: requests separated by NUL,
// each `METHOD PATH[?QUERY]`, header lines `name: value`, an empty line, then the body.
// Checked: every answer is a JSON object with a status Stripe uses; errors carry a message and
// never quote the payload or the API key; a decoded form encodes and decodes to itself.
import Foundation
import StripeAPI

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let api = SecretStoreAPI(store: SecretStore(), now: { 1_700_000_000 })
    for part in input(data, size).split(separator: 0, omittingEmptySubsequences: true).prefix(16) {
        let request = parse(String(decoding: part, as: UTF8.self))
        check(api.respond(to: request), to: request)
    }
    return 0
}

private func parse(_ text: String) -> EmulatorRequest {
    let (head, body) = split(text, at: "\n\n")
    var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let requestLine = lines.isEmpty ? "" : lines.removeFirst()
    let (method, target) = split(requestLine, at: " ")
    let (path, query) = split(target, at: "?")
    var headers: [String: String] = [:]
    for line in lines {
        let (name, value) = split(line, at: ": ")
        headers[name.lowercased()] = value
    }
    return EmulatorRequest(method: method, path: path, query: query, headers: headers, body: body)
}

/// `text` before and after the first `separator` (all of it and "" when there is none).
private func split(_ text: String, at separator: String) -> (String, String) {
    guard let range = text.range(of: separator) else { return (text, "") }
    return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
}

private func check(_ response: EmulatorResponse, to request: EmulatorRequest) {
    require([200, 400, 401, 403, 404, 409].contains(response.status), "status \(response.status)")
    let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
    require(object != nil, "an answer that is not a JSON object")
    let form = [request.query, request.body].filter { !$0.isEmpty }.joined(separator: "&")
    let pairs = FormEncoding.decode(form)
    if let pairs {
        var encoding = FormEncoding()
        for (key, value) in pairs { encoding.append(key, value) }
        let again = FormEncoding.decode(encoding.encoded)
        require(again.map { $0.elementsEqual(pairs) { $0 == $1 } } == true, "a form does not survive encoding")
    }
    guard response.status >= 400 else { return }
    let message = (object?["error"] as? [String: Any])?["message"] as? String
    require(message != nil, "an error without a message")
    guard let message else { return }
    // What is echoed as given (method, path, parameters, idempotency key): a payload or key
    // that also stands there may be quoted as that.
    let echoed =
        [request.method, request.path, request.headers["idempotency-key"] ?? ""]
        + (pairs ?? []).filter { $0.key != "payload" }.flatMap { [$0.key, $0.value] }
    func isEchoed(_ text: String) -> Bool { echoed.contains { $0.contains(text) } }
    for (key, value) in pairs ?? [] where key == "payload" && !isEchoed(value) {
        require(!quotes(message, value), "an error quotes the payload: \(message)")
    }
    let credentials = String(request.headers["authorization"]?.drop { $0 != " " }.dropFirst() ?? "")
    if !isEchoed(credentials) {
        require(!quotes(message, credentials), "an error quotes the API key: \(message)")
    }
}
