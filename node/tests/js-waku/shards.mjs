// js-waku's autosharding, the independent check of ours (node/tests/js_waku.rs): reads
// [[contentTopic, shardCount], ...] as JSON on argv[2], prints the shard indexes as JSON.
import { utils } from "@waku/sdk";

const cases = JSON.parse(process.argv[2]);
const shards = cases.map(([topic, count]) => utils.contentTopicToShardIndex(topic, count));
process.stdout.write(JSON.stringify(shards) + "\n");
