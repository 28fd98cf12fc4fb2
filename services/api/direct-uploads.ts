import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { classifyAwsError } from "../../shared/aws-errors.ts";
import { DROP_CHECKSUM, withoutChecksumHeaders } from "../../shared/storage/s3-object-store.ts";

/**
 * Uploads that go from the client straight to the bucket, never through the API: one presigned
 * PUT, or a multipart upload whose parts are presigned. The bucket's ObjectCreated notification
 * for `sources/` starts ingest; the API's completion call sends the same message (a duplicate is
 * harmless: ingest does nothing for a video it already has).
 */
export interface DirectUploads {
  presignPut(key: string, contentType: string, expiresInSeconds: number): Promise<string>;
  createMultipart(key: string, contentType: string): Promise<string>;
  presignPart(key: string, uploadId: string, partNumber: number, expiresInSeconds: number): Promise<string>;
  completeMultipart(key: string, uploadId: string, parts: ReadonlyArray<{ partNumber: number; etag: string }>): Promise<void>;
}

export function createS3DirectUploads(client: S3Client, bucket: string): DirectUploads {
  const call = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw classifyAwsError(error, what);
    }
  };
  return {
    presignPut: (key, contentType, expiresIn) =>
      call(`presign PUT ${key}`, () => {
        const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType });
        command.middlewareStack.add((next) => (args) => next(withoutChecksumHeaders(args)), DROP_CHECKSUM);
        // The PUT then only accepts the content type it was made for.
        return getSignedUrl(client, command, { expiresIn, signableHeaders: new Set(["content-type"]) });
      }),
    createMultipart: (key, contentType) =>
      call(`start multipart upload ${key}`, async () => {
        const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
        if (!created.UploadId) throw new Error("S3 returned no UploadId");
        return created.UploadId;
      }),
    presignPart: (key, uploadId, partNumber, expiresIn) =>
      call(`presign part ${partNumber} of ${key}`, () => {
        const command = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber });
        command.middlewareStack.add((next) => (args) => next(withoutChecksumHeaders(args)), DROP_CHECKSUM);
        return getSignedUrl(client, command, { expiresIn });
      }),
    completeMultipart: (key, uploadId, parts) =>
      call(`complete multipart upload ${key}`, async () => {
        await client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: [...parts].sort((a, b) => a.partNumber - b.partNumber).map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        );
      }),
  };
}
