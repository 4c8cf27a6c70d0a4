import Foundation

/// What `JSONSerialization` says went wrong, with the position when it gives one.
///
/// On Linux its `localizedDescription` is only "The data is not in the correct format."; the position
/// ("Invalid value around character 10.") is in the error's debug description.
func jsonErrorDescription(_ error: any Error) -> String {
    let ns = error as NSError
    if let detail = ns.userInfo[NSDebugDescriptionErrorKey] as? String, !detail.isEmpty {
        return detail.hasSuffix(".") ? String(detail.dropLast()) : detail
    }
    return error.localizedDescription
}
