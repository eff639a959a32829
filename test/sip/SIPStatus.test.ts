import { describe, expect, it } from "@effect/vitest"
import { SIPStatus } from "../../src/sip/SIPStatus.ts"

// IANA "Response Codes" registry (sip-parameters-7): code and reason phrase.
// RFC 3261 §21 defines 50 of them; the other 25 were registered later.
const registry: ReadonlyArray<readonly [number, string]> = [
  [100, "Trying"],
  [180, "Ringing"],
  [181, "Call Is Being Forwarded"],
  [182, "Queued"],
  [183, "Session Progress"],
  [199, "Early Dialog Terminated"],
  [200, "OK"],
  [202, "Accepted"],
  [204, "No Notification"],
  [300, "Multiple Choices"],
  [301, "Moved Permanently"],
  [302, "Moved Temporarily"],
  [305, "Use Proxy"],
  [380, "Alternative Service"],
  [400, "Bad Request"],
  [401, "Unauthorized"],
  [402, "Payment Required"],
  [403, "Forbidden"],
  [404, "Not Found"],
  [405, "Method Not Allowed"],
  [406, "Not Acceptable"],
  [407, "Proxy Authentication Required"],
  [408, "Request Timeout"],
  [410, "Gone"],
  [412, "Conditional Request Failed"],
  [413, "Request Entity Too Large"],
  [414, "Request-URI Too Long"],
  [415, "Unsupported Media Type"],
  [416, "Unsupported URI Scheme"],
  [417, "Unknown Resource-Priority"],
  [420, "Bad Extension"],
  [421, "Extension Required"],
  [422, "Session Interval Too Small"],
  [423, "Interval Too Brief"],
  [424, "Bad Location Information"],
  [425, "Bad Alert Message"],
  [428, "Use Identity Header"],
  [429, "Provide Referrer Identity"],
  [430, "Flow Failed"],
  [433, "Anonymity Disallowed"],
  [436, "Bad Identity Info"],
  [437, "Unsupported Credential"],
  [438, "Invalid Identity Header"],
  [439, "First Hop Lacks Outbound Support"],
  [440, "Max-Breadth Exceeded"],
  [469, "Bad Info Package"],
  [470, "Consent Needed"],
  [480, "Temporarily Unavailable"],
  [481, "Call/Transaction Does Not Exist"],
  [482, "Loop Detected"],
  [483, "Too Many Hops"],
  [484, "Address Incomplete"],
  [485, "Ambiguous"],
  [486, "Busy Here"],
  [487, "Request Terminated"],
  [488, "Not Acceptable Here"],
  [489, "Bad Event"],
  [491, "Request Pending"],
  [493, "Undecipherable"],
  [494, "Security Agreement Required"],
  [500, "Server Internal Error"],
  [501, "Not Implemented"],
  [502, "Bad Gateway"],
  [503, "Service Unavailable"],
  [504, "Server Time-out"],
  [505, "Version Not Supported"],
  [513, "Message Too Large"],
  [555, "Push Notification Service Not Supported"],
  [580, "Precondition Failure"],
  [600, "Busy Everywhere"],
  [603, "Decline"],
  [604, "Does Not Exist Anywhere"],
  [606, "Not Acceptable"],
  [607, "Unwanted"],
  [608, "Rejected"]
]

describe("SIPStatus", () => {
  it("holds exactly the registry's 75 codes, in order, with their phrases", () => {
    expect(registry).toHaveLength(75)
    expect(SIPStatus.all.map((s) => [s.value, s.phrase])).toEqual(registry)
    for (const status of SIPStatus.all) {
      expect(status.registered).toBe(true)
      expect(status.description.length).toBeGreaterThan(10)
      expect(status.description.endsWith(".")).toBe(true)
    }
  })

  it("names members like pyVoIP, one per code", () => {
    expect(SIPStatus.TRYING.value).toBe(100)
    expect(SIPStatus.RINGING.value).toBe(180)
    expect(SIPStatus.OK.value).toBe(200)
    expect(SIPStatus.BAD_REQUEST.value).toBe(400)
    expect(SIPStatus.REQUEST_TERMINATED.value).toBe(487)
    expect(SIPStatus.BUSY_HERE.value).toBe(486)
    expect(SIPStatus.NOT_ACCEPTABLE_HERE.value).toBe(488)
    expect(SIPStatus.DECLINE.value).toBe(603)
    expect(SIPStatus.GLOBAL_NOT_ACCEPTABLE.value).toBe(606)
    const members = Object.values(SIPStatus).filter((v) => typeof v === "object" && "phrase" in v)
    expect(members).toHaveLength(75)
  })

  it("prints like pyVoIP's str(status)", () => {
    expect(String(SIPStatus.BUSY_HERE)).toBe("486 Busy Here")
    expect(`${SIPStatus.OK}`).toBe("200 OK")
  })

  it("finds registered codes", () => {
    for (const [code] of registry) expect(SIPStatus.fromCode(code)?.value).toBe(code)
    expect(SIPStatus.fromCode(401)).toBe(SIPStatus.UNAUTHORIZED)
  })

  it("gives unregistered codes in 100-699 their class and nothing outside", () => {
    const cases: ReadonlyArray<readonly [number, string]> = [
      [101, "Provisional"],
      [299, "Successful"],
      [399, "Redirection"],
      [409, "Request Failure"],
      [499, "Request Failure"],
      [599, "Server Failure"],
      [699, "Global Failure"]
    ]
    for (const [code, phrase] of cases) {
      const status = SIPStatus.fromCode(code)
      expect(status?.value).toBe(code)
      expect(status?.phrase).toBe(phrase)
      expect(status?.registered).toBe(false)
    }
    for (const code of [0, 99, 700, 1000, -486, 486.5, Number.NaN]) expect(SIPStatus.fromCode(code)).toBeUndefined()
  })

  it("treats an unknown code as RFC 3261 §8.1.3.2 says", () => {
    const treat = (code: number) => {
      const status = SIPStatus.fromCode(code)
      return status === undefined ? undefined : SIPStatus.treatAs(status).value
    }
    expect(treat(499)).toBe(400)
    expect(treat(599)).toBe(500)
    expect(treat(699)).toBe(600)
    expect(treat(150)).toBe(183)
    expect(treat(299)).toBe(200)
    expect(treat(486)).toBe(486)
  })

  it("classifies statuses and bare codes", () => {
    expect(SIPStatus.isProvisional(SIPStatus.RINGING)).toBe(true)
    expect(SIPStatus.isProvisional(200)).toBe(false)
    expect(SIPStatus.isSuccess(SIPStatus.OK)).toBe(true)
    expect(SIPStatus.isSuccess(300)).toBe(false)
    expect(SIPStatus.isRedirect(302)).toBe(true)
    expect(SIPStatus.isFailure(SIPStatus.BUSY_HERE)).toBe(true)
    expect(SIPStatus.isFailure(SIPStatus.DECLINE)).toBe(true)
    expect(SIPStatus.isFailure(302)).toBe(false)
    expect(SIPStatus.isFinal(SIPStatus.TRYING)).toBe(false)
    expect(SIPStatus.isFinal(SIPStatus.OK)).toBe(true)
    expect(SIPStatus.isFinal(700)).toBe(false)
  })
})
