import Foundation
import Hummingbird

/// Every request's context: JSON in and out, and a body limit well under what a vault request
/// needs to carry (a registration, a checkout), so an oversized body is refused with 413 before
/// it is read.
struct DaemonRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    var maxUploadSize: Int { 64 * 1024 }
}
