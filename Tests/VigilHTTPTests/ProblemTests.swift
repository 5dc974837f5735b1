import Foundation
import Testing

import Hummingbird
import VigilCore
import VigilHTTP

@Suite struct ProblemTests {
    @Test func aProblemRendersAsRFC9457WithItsFieldErrors() throws {
        let problem = Problem(
            status: .unprocessableContent, slug: "disposable-email", title: "Disposable email", detail: "Use a permanent address.",
            errors: [.init(pointer: "/email", code: "disposable", detail: "Disposable domain.")]
        )
        let response = problem.response(instance: "/api/register")
        #expect(response.status == .unprocessableContent)
        #expect(response.headers[.contentType] == "application/problem+json")
        let body = String(buffer: problem.body(instance: "/api/register"))
        #expect(
            body
                == #"{"detail":"Use a permanent address.","errors":[{"code":"disposable","detail":"Disposable domain.","pointer":"/email"}],"instance":"/api/register","status":422,"title":"Disposable email","type":"/problems/disposable-email"}"#
        )
    }

    @Test func absentMembersAreOmitted() {
        let body = String(buffer: Problem.notFound("x").body(instance: nil))
        #expect(body == #"{"detail":"x","status":404,"title":"Not found","type":"/problems/not-found"}"#)
    }
}
