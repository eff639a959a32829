import { createPhone } from "effect-voip/promise"

export const bot = async (samples: Int16Array) => {
  await using phone = await createPhone({
    server: "pbx.example.com",
    user: "bot",
    credentials: { username: "bot", password: process.env.VOIP_PASSWORD ?? "" },
    bindIp: "0.0.0.0",
    bindPort: 5060,
    onIncomingCall: async (call) => {
      await call.answer()
      const playing = call.play(samples) // Int16Array or AsyncIterable<Int16Array>
      for await (const digit of call.dtmf()) { // audio(), states(), messages() are async iterables too
        if (digit === "#") {
          await call.hangup()
          break
        }
      }
      await playing
    }
  })
  console.log(`status ${await phone.status()}`)
  await new Promise((resolve) => process.once("SIGINT", resolve))
}
