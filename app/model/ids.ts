// Ids branded by kind, so an ImageId can never be passed where a CategoryId is meant.
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** Row ids assigned by the project store. */
export type ImageId = Brand<number, 'ImageId'>;
export type CategoryId = Brand<number, 'CategoryId'>;
export type ModelId = Brand<number, 'ModelId'>;
export type RunId = Brand<number, 'RunId'>;
/**
 * Annotation ids are strings (UUIDs) made by whoever creates the annotation, main or renderer,
 * so an edit can be described, undone and redone as plain data before the store has seen it.
 */
export type AnnotationId = Brand<string, 'AnnotationId'>;

export const ImageId = (n: number): ImageId => n as ImageId;
export const CategoryId = (n: number): CategoryId => n as CategoryId;
export const ModelId = (n: number): ModelId => n as ModelId;
export const RunId = (n: number): RunId => n as RunId;
export const AnnotationId = (s: string): AnnotationId => s as AnnotationId;
