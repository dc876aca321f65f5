/**
 * Imported first by the ViT tests: tfjs prints a "install our node backend" banner in every
 * process that writes a tensor on the cpu backend (four times per `npm test`). It is advice, not a
 * result. tfjs' PROD flag turns its warnings and logs off and nothing else (IS_TEST would also
 * turn on its kernel leak checks).
 */
import * as tf from '@tensorflow/tfjs';

tf.env().set('PROD', true);
