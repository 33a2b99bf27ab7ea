import { Type } from "typebox";
import { matches } from "../api/decode.ts";
import type { KubeApi } from "./api-client.ts";
import type { WatchStream } from "./informer.ts";

/** One line of a watch: an event's type and its object, which the informer checks. */
const WatchEventSchema = Type.Object({ type: Type.String(), object: Type.Unknown() });

/**
 * Watches over the operator's API client: `?watch=true` on the path, one JSON event per line. A line
 * that is not an event is skipped, as client-go's decoder would fail only that event. A request the
 * server refuses (410 Gone above all) ends the watch through `done`, where the informer tells an
 * expired resourceVersion from a failure. A silent stream is ended by its body deadline (28 s,
 * request-deadlines.ts), the server itself ending each watch after the 25 s the informer asks for.
 */
export function watchStream(api: KubeApi): WatchStream {
  return {
    watch: async (path, params, onEvent, done) => {
      const onLine = (line: string): void => {
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch {
          return;
        }
        if (matches(WatchEventSchema, event)) onEvent(event.type, event.object);
      };
      try {
        return await api.stream(path, { ...params, watch: true }, onLine, done);
      } catch (err) {
        done(err);
        return { abort: () => undefined };
      }
    },
  };
}
