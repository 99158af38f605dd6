import { describe, expect, it } from "vitest";
import {
  type Case,
  catchError,
  decode,
  type ErrorCase,
  fixtureReader,
  type Json,
  openAIClientFor,
  run,
  type StreamCase,
  toSse,
} from "../../../test/sse-replay.js";
import { GatewayError } from "../../errors.js";
import type { ResponseContext } from "./responses-object.js";
import { assembleResponse, responseToFrames } from "./responses-replay.js";
import { createChatToResponsesStream, createMessagesToResponsesStream } from "./responses-stream-adapters.js";
import { chatResponseToResponses, responsesRequestToChat } from "./responses-to-chat.js";
import { messagesResponseToResponses, responsesRequestToMessages } from "./responses-to-messages.js";
import { planTools } from "./responses-tools.js";

type ReqOpts = { upstreamModel: string; defaultMaxTokens?: number };

const directions = [
  {
    dir: "responses-to-chat",
    request: (body: Json, o: ReqOpts) => responsesRequestToChat(body, { ...o, plan: planTools(body) }),
    response: chatResponseToResponses,
    stream: createChatToResponsesStream,
  },
  {
    dir: "responses-to-messages",
    request: (body: Json, o: ReqOpts) =>
      responsesRequestToMessages(body, { defaultMaxTokens: 4096, ...o, plan: planTools(body) }),
    response: messagesResponseToResponses,
    stream: createMessagesToResponsesStream,
  },
] as const;

describe.each(directions)("$dir", ({ dir, request, response, stream }) => {
  const fixture = fixtureReader(`translate/${dir}`);

  it.each(fixture<Case<ReqOpts>[]>("requests.json"))("request: $name", ({ input, opts, expected }) => {
    const before = structuredClone(input);
    expect(request(input, opts)).toStrictEqual(expected);
    expect(input).toStrictEqual(before); // pure: the client's body is not mutated
  });

  it.each(fixture<ErrorCase[]>("request-errors.json"))("400 for $name", ({ input, error }) => {
    const e = catchError(() => request(input, { upstreamModel: "x" }));
    expect(e).toBeInstanceOf(GatewayError);
    expect(e).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect((e as GatewayError).message).toContain(error);
  });

  it.each(fixture<Case<ResponseContext>[]>("responses.json"))(
    "response: $name",
    ({ input, opts, expected }) => {
      const before = structuredClone(input);
      expect(response(input, { ...opts, plan: planTools(opts.request) })).toStrictEqual(expected);
      expect(input).toStrictEqual(before);
    },
  );

  const streams = fixture<StreamCase<ResponseContext>[]>("streams.json");

  it.each(streams)("stream: $name", ({ opts, frames, expected }) => {
    const out = run(stream({ ...opts, plan: planTools(opts.request) }), frames);
    const events = out.map(decode);
    expect(events).toStrictEqual(expected);
    // Every event names itself twice (event line and `type`) and is numbered in order from 0.
    events.forEach((e, i) => {
      expect((e.data as Json).type).toBe(e.event);
      expect((e.data as Json).sequence_number).toBe(i);
    });
    const last = events.at(-1)?.data as Json;
    expect(["response.completed", "response.incomplete", "response.failed"]).toContain(last.type);
  });

  it.each(streams)("the openai SDK parses the translated stream: $name", async ({ opts, frames }) => {
    const out = run(stream({ ...opts, plan: planTools(opts.request) }), frames);
    const sdk = openAIClientFor(out);
    const parsed: Json[] = [];
    for await (const event of await sdk.responses.create({ model: "m", input: "hi", stream: true }))
      parsed.push(event as unknown as Json);
    expect(parsed).toStrictEqual(out.map((f) => decode(f).data));
    const terminal = parsed.at(-1)!;
    if (terminal.type !== "response.failed") {
      // The SDK's accumulating parser agrees with aigw's own final response.
      const final = await openAIClientFor(out).responses.stream({ model: "m", input: "hi" }).finalResponse();
      expect(final.output).toMatchObject((terminal.response as Json).output as object[]);
    }
  });

  it("nothing after the terminal event, and end() adds nothing more", () => {
    const c = streams[0]!;
    const t = stream({ ...c.opts, plan: planTools(c.opts.request) });
    for (const f of c.frames) t.push(toSse(f));
    expect(t.end()).toEqual([]);
    expect(t.push(toSse(c.frames.at(-1)!))).toEqual([]);
  });
});

describe("a cached Responses answer replayed as a stream", () => {
  const fixture = fixtureReader("translate/responses-to-messages");
  it.each(
    fixture<StreamCase<ResponseContext>[]>("streams.json").filter(
      (c) => !c.name.includes("error") && !c.name.includes("cut"),
    ),
  )("$name: replay and re-assembly give back the same response", async ({ expected }) => {
    const response = (expected.at(-1)!.data as Json).response as Json;
    const frames = responseToFrames(response);
    expect(
      assembleResponse(
        frames.map((f) => ({ raw: f, event: decode(f).event, data: JSON.stringify(decode(f).data) })),
      ),
    ).toStrictEqual(response);
    const final = await openAIClientFor(frames).responses.stream({ model: "m", input: "hi" }).finalResponse();
    expect(final.output).toMatchObject(response.output as object[]);
  });
});
