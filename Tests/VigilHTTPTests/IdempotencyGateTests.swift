import HTTPTypes
import Testing
import VigilCore

@testable import VigilHTTP

@Suite struct IdempotencyGateTests {
    @Test(arguments: [
        (IdempotencyPolicy.accepts, HTTPRequest.Method.post, nil as String?, nil as String?),
        (.accepts, .post, "key-1", nil),
        (.accepts, .post, String(repeating: "k", count: 256), "idempotency-key-refused"),
        (.accepts, .patch, "with space", "idempotency-key-refused"),
        (.refuses, .post, nil, nil),
        (.refuses, .delete, "key-1", "idempotency-key-refused"),
        (.requires, .post, nil, "idempotency-key-required"),
        (.requires, .post, "key-1", nil),
        // Reads ignore the header whatever the policy.
        (.requires, .get, nil, nil),
        (.refuses, .get, "key-1", nil),
    ])
    func theHeaderIsJudgedByTheRoutesPolicy(policy: IdempotencyPolicy, method: HTTPRequest.Method, key: String?, refusal: String?) {
        let problem = IdempotencyGate.refusal(policy: policy, method: method, key: key)
        #expect(problem?.slug == refusal)
        #expect(problem.map { $0.status == .badRequest } ?? true)
    }
}
