/** Runs the stage files one after another in name order (00-host … 40-cni): the lesson's order. */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class LessonOrderSequencer extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve([...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId)));
  }

  override shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    return Promise.resolve(files);
  }
}
