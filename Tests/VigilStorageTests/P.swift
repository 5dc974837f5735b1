import Testing
@Test func p() { #expect(Bool(true)) }
