// The open project's classes.
import { ConflictError, type Category } from '../../app/model/index.js';
import type { ProjectService } from './project.js';

export interface CategoryService {
  list(): Category[];
  /** A new class; a ConflictError when one has this name already. */
  create(name: string, color?: string): Category;
}

export function createCategoryService(project: ProjectService): CategoryService {
  return {
    list: () => project.require().categories.list(),
    create(name, color) {
      const store = project.require();
      if (store.categories.getByName(name)) throw new ConflictError(`a class named '${name}' already exists`);
      return store.categories.create(name, color);
    },
  };
}
