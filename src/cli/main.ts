#!/usr/bin/env node
/**
 * The `voip` command line: a softphone for scripts and people, one command
 * per action (see `Commands.ts` for the commands, `Flags.ts` for the flags,
 * `Output.ts` for the events and their JSON fields, `ExitCode.ts` for the
 * exit codes). Library logs go to stderr; `--log-level` sets how many.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Logger } from "effect"
import { Command } from "effect/cli"
import { version } from "../index.ts"
import { voip } from "./Commands.ts"
import { CliFailure, ExitCode } from "./ExitCode.ts"

/** A parse error or help with errors in it is a usage error; plain help (`voip` alone) is not. */
const codeOf = (error: unknown): ExitCode => {
  if (error instanceof CliFailure) return error.code
  if (typeof error === "object" && error !== null && "_tag" in error && error._tag === "ShowHelp") {
    return "errors" in error && Array.isArray(error.errors) && error.errors.length === 0 ? ExitCode.OK : ExitCode.USAGE
  }
  return ExitCode.USAGE
}

const main = Command.run(voip, { version }).pipe(
  Effect.as<ExitCode>(ExitCode.OK),
  Effect.catch((error) => Effect.succeed(codeOf(error))),
  Effect.provide(NodeServices.layer),
  Effect.provideService(Logger.LogToStderr, true)
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // SIGINT/SIGTERM interrupt the command once its calls ended and it deregistered: a clean exit
  teardown: (exit, onExit) =>
    onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? ExitCode.OK : ExitCode.FAILURE)
})
