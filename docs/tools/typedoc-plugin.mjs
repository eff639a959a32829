// Two adjustments that make TypeDoc read this project as its readers do.
//
// - Module names: TypeDoc names each entry point's module after its file
//   ("index", "promise", "testing"); readers import the package's subpaths.
// - Namespace docs: src/index.ts exports most modules as namespaces
//   (`export * as PCMU from "./rtp/PCMU.ts"`). TypeDoc documents such a
//   namespace with the file's comment only when it is tagged `@module`;
//   the sources follow Effect's style instead, where the comment that opens
//   the file, before its imports, is the module's doc.
import ts from "typescript"
import { Converter, ReflectionKind } from "typedoc"

const names = { index: "effect-voip", promise: "effect-voip/promise", testing: "effect-voip/testing" }

/** @param {import("typedoc").Application} app */
export const load = (app) => {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Namespace) || reflection.comment !== undefined) return
    const file = context.getSymbolFromReflection(reflection)?.declarations?.find(ts.isSourceFile)
    const first = file?.statements[0]
    // the opening comment is the last one before the first import only when no other comment sits between them
    if (first === undefined || !ts.isImportDeclaration(first)) return
    if ((ts.getLeadingCommentRanges(file.text, first.pos) ?? []).length !== 1) return
    reflection.comment = context.getNodeComment(first, false)
  })
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.children ?? []) {
      module.name = names[module.name] ?? module.name
    }
  })
}
