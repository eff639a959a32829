/**
 * SIP messages as real user agents write them, typed by hand from the shapes
 * of the interop lab (/work/shared/lab: sipp/*.xml scenarios, kamailio.cfg,
 * baresip 1.0.0) with their placeholders filled in, plus the benchmark INVITE.
 */

const crlf = (lines: ReadonlyArray<string>): string => lines.join("\r\n")

const sdp = (lines: ReadonlyArray<string>): string => lines.map((line) => `${line}\r\n`).join("")

const withBody = (head: ReadonlyArray<string>, body: string): string =>
  crlf([...head, `Content-Length: ${Buffer.byteLength(body)}`, "", body])

export const benchmarkSdp = sdp([
  "v=0",
  "o=user1 53655765 2353687637 IN IP4 127.0.0.3",
  "s=-",
  "c=IN IP4 127.0.0.3",
  "t=0 0",
  "m=audio 6000 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000"
])

/** The INVITE of bench/sip-parse.ts (129-octet body). */
export const benchmarkInvite = withBody([
  "INVITE sip:bob@127.0.0.1:5060 SIP/2.0",
  `Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK.${"a".repeat(32)}`,
  "From: \"Alice\" <sip:alice@127.0.0.2:5060>;tag=1928301774",
  "To: \"Bob\" <sip:bob@127.0.0.1:5060>",
  "Call-ID: gotest-1700000000000000000",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@127.0.0.2:5060>",
  "Content-Type: application/sdp"
], benchmarkSdp)

/** sipp/uac-call.xml's first INVITE. */
export const sippInvite = withBody([
  "INVITE sip:lab@127.0.0.1:15060 SIP/2.0",
  "Via: SIP/2.0/UDP 127.0.0.1:15062;branch=z9hG4bK-2871-1-0",
  "From: \"sipp lab\" <sip:sipp@127.0.0.1:15062>;tag=2871SIPpTag001",
  "To: <sip:lab@127.0.0.1:15060>",
  "Call-ID: 1-2871@127.0.0.1",
  "CSeq: 1 INVITE",
  "Contact: <sip:sipp@127.0.0.1:15062;transport=UDP>",
  "Max-Forwards: 70",
  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS",
  "User-Agent: sipp-lab uac-call",
  "Content-Type: application/sdp"
], sdp([
  "v=0",
  "o=sipp-lab 2871 1 IN IP4 127.0.0.1",
  "s=sipp-lab",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 16100 RTP/AVP 0 101",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
  "a=sendrecv"
]))

/** sipp/register-client.xml's REGISTER after a 401, with SIPp's [authentication]. */
export const sippRegister = crlf([
  "REGISTER sip:127.0.0.1:15080 SIP/2.0",
  "Via: SIP/2.0/UDP 127.0.0.1:15072;branch=z9hG4bK-3104-1-2",
  "From: <sip:alice@127.0.0.1>;tag=3104SIPpTagC01",
  "To: <sip:alice@127.0.0.1>",
  "Call-ID: 1-3104@127.0.0.1",
  "CSeq: 2 REGISTER",
  "Contact: <sip:alice@127.0.0.1:15072;transport=UDP>",
  "Authorization: Digest username=\"alice\",realm=\"kamailio.lab\",cnonce=\"6b8b4567\",nc=00000001,qop=auth," +
  "uri=\"sip:127.0.0.1:15080\",nonce=\"Z8xq2WfMcK0B3aD5eXJ0Y2k0ZjE=\",response=\"0d1c6c1e0f6c8a7d5e4b3a291807f6e5\"," +
  "algorithm=MD5",
  "Expires: 60",
  "Max-Forwards: 70",
  "User-Agent: sipp-lab register-client",
  "Content-Length: 0",
  "",
  ""
])

/** baresip 1.0.0 calling through kamailio (rport, Supported, Allow on one line, SDP with ptime/rtcp). */
export const baresipInvite = withBody([
  "INVITE sip:bob@127.0.0.1:15080 SIP/2.0",
  "Via: SIP/2.0/UDP 127.0.0.1:15092;branch=z9hG4bK2f5a1c8e3b7d6a90;rport",
  "Contact: <sip:alice-0x55d1c2a8@127.0.0.1:15092>",
  "Max-Forwards: 70",
  "To: <sip:bob@127.0.0.1:15080>",
  "From: <sip:alice@127.0.0.1>;tag=8d3f0a7c2b1e4f56",
  "Call-ID: 1c9e7a4b3f2d5e60",
  "CSeq: 41235 INVITE",
  "User-Agent: baresip v1.0.0 (x86_64/linux)",
  "Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE",
  "Supported: replaces,norefersub",
  "Content-Type: application/sdp"
], sdp([
  "v=0",
  "o=- 1403213522 2830562178 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 16250 RTP/AVP 0 8 101",
  "b=AS:64",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=rtcp:16251",
  "a=sendrecv",
  "a=label:1",
  "a=ssrc:1534926813 cname:alice@127.0.0.1",
  "a=ptime:20"
]))

/** kamailio's www_challenge answer to a REGISTER (kamailio.cfg: Server: kamailio-lab, qop=auth). */
export const kamailio401 = crlf([
  "SIP/2.0 401 Unauthorized",
  "Via: SIP/2.0/UDP 127.0.0.1:15092;rport=15092;branch=z9hG4bK4a1f0d9e7c;received=127.0.0.1",
  "From: <sip:alice@127.0.0.1>;tag=5e0c6e1d2b3a4f58",
  "To: <sip:alice@127.0.0.1>;tag=b27e1a1d33761e85846fc98f5f3a7e58.0a1b",
  "Call-ID: 7d1b5e2c0a9f3e46",
  "CSeq: 3417 REGISTER",
  "WWW-Authenticate: Digest realm=\"kamailio.lab\", nonce=\"Z8xq2WfMcK0B3aD5eXJ0Y2k0ZjE=\", qop=\"auth\"",
  "Server: kamailio-lab",
  "Content-Length: 0",
  "",
  ""
])

/** kamailio's proxy_challenge answer to an INVITE. */
export const kamailio407 = crlf([
  "SIP/2.0 407 Proxy Authentication Required",
  "Via: SIP/2.0/UDP 127.0.0.1:15062;branch=z9hG4bK-2871-1-0;received=127.0.0.1;rport=15062",
  "From: \"sipp lab\" <sip:alice@127.0.0.1:15062>;tag=2871SIPpTag001",
  "To: <sip:bob@127.0.0.1:15080>;tag=b27e1a1d33761e85846fc98f5f3a7e58.7c2d",
  "Call-ID: 1-2871@127.0.0.1",
  "CSeq: 1 INVITE",
  "Proxy-Authenticate: Digest realm=\"kamailio.lab\", nonce=\"Z8xrA2fMcNTgpEmqKCSQ8PTf1L8=\", qop=\"auth\"",
  "Server: kamailio-lab",
  "Content-Length: 0",
  "",
  ""
])

/** sipp/registrar-digest.xml's 200 to a REGISTER: Via with received/rport, Contact with expires, Expires. */
export const registerOk = crlf([
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP 127.0.0.1:15072;branch=z9hG4bK-3104-1-2;received=127.0.0.1;rport=15072",
  "From: <sip:alice@127.0.0.1>;tag=3104SIPpTagC01",
  "To: <sip:alice@127.0.0.1>;tag=3090SIPpTagR01",
  "Call-ID: 1-3104@127.0.0.1",
  "CSeq: 2 REGISTER",
  "Contact: <sip:alice@127.0.0.1:15072;transport=UDP>;expires=60",
  "Expires: 60",
  "Date: Sat, 13 Nov 2010 23:29:00 GMT",
  "Server: sipp-lab registrar",
  "Content-Length: 0",
  "",
  ""
])

/** A 100 Trying as kamailio sends it (tm's t_relay). */
export const trying = crlf([
  "SIP/2.0 100 trying -- your call is important to us",
  "Via: SIP/2.0/UDP 127.0.0.1:15062;branch=z9hG4bK-2871-1-0;received=127.0.0.1;rport=15062",
  "From: \"sipp lab\" <sip:alice@127.0.0.1:15062>;tag=2871SIPpTag001",
  "To: <sip:bob@127.0.0.1:15080>",
  "Call-ID: 1-2871@127.0.0.1",
  "CSeq: 2 INVITE",
  "Server: kamailio-lab",
  "Content-Length: 0",
  "",
  ""
])
